-- Staging tables owned by the credit-risk team. The raw.* tables are described by dataset cards
-- (../../datasets), so their columns are known; these DDL statements add the rest of the schema.
CREATE TABLE IF NOT EXISTS staging.bureau_latest (
    customer_id BIGINT,
    bureau_score INT,
    defaults_5y INT,
    reported_at DATE
);

-- Kept from the 2024 scorecard; nothing reads or writes it any more.
CREATE TABLE IF NOT EXISTS staging.legacy_scorecard (
    customer_id BIGINT,
    score INT,
    scored_at DATE
);
