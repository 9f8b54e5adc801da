-- Daily staging of customers and their spend (Snowflake).
USE SCHEMA staging;

-- Customer profile: the e-mail is hashed, but its domain and the age are derived in clear.
CREATE OR REPLACE TABLE customer_profile AS
SELECT
    c.customer_id,
    SHA2(c.email, 256)                                   AS email_hash,
    SPLIT_PART(c.email, '@', 2)                          AS email_domain,
    DATEDIFF('year', c.date_of_birth, CURRENT_DATE())    AS age_years,
    c.country,
    CAST(NULL AS INT)                                    AS bureau_score
FROM raw.customers AS c
WHERE c.country IN ('DE', 'FR', 'NL', 'IE');

-- Monthly spend per customer, through a temporary table.
CREATE TEMPORARY TABLE monthly_spend AS
WITH booked AS (
    SELECT customer_id, DATE_TRUNC('month', booked_at) AS month, amount
    FROM raw.transactions
    WHERE amount > 0
),
refunds AS (  -- not used below: must not add raw.transactions.merchant_category as a source
    SELECT customer_id, merchant_category FROM raw.transactions WHERE amount < 0
)
SELECT customer_id, month, SUM(amount) AS spend
FROM booked
GROUP BY customer_id, month;

CREATE OR REPLACE TABLE customer_spend AS
SELECT customer_id, AVG(spend) AS avg_monthly_spend, COUNT(*) AS active_months
FROM monthly_spend
GROUP BY customer_id;

-- Latest bureau record per customer.
INSERT OVERWRITE INTO bureau_latest
SELECT customer_id, bureau_score, defaults_5y, reported_at
FROM raw.bureau_scores
QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY reported_at DESC) = 1;
