-- The credit feature table, rebuilt daily from staging.
INSERT INTO features.credit_features
    (customer_id, age_years, avg_monthly_spend, bureau_score, defaults_5y, email_domain)
WITH spend AS (
    SELECT customer_id, avg_monthly_spend FROM staging.customer_spend
)
SELECT
    p.customer_id,
    p.age_years,
    COALESCE(s.avg_monthly_spend, 0),
    b.bureau_score,
    b.defaults_5y,
    p.email_domain
FROM staging.customer_profile AS p
LEFT JOIN spend AS s ON s.customer_id = p.customer_id
LEFT JOIN staging.bureau_latest AS b ON b.customer_id = p.customer_id
WHERE p.customer_id NOT IN (SELECT customer_id FROM raw.customers WHERE country IS NULL);

-- Back-fill the profile's bureau score from the feature table (this closes a loop:
-- staging.customer_profile -> features.credit_features -> staging.customer_profile).
MERGE INTO staging.customer_profile AS t
USING features.credit_features AS f
    ON t.customer_id = f.customer_id
WHEN MATCHED THEN UPDATE SET t.bureau_score = f.bureau_score;
