-- The indicator catalog's values, long form (docs/contract.md §4). One partition per year of `period`:
-- a refresh builds changed years in indicators_staging and swaps them in with REPLACE PARTITION (atomic).
-- A suppressed cell (suppressed = 1) has no value, numerator or denominator, `workers` 0 (its population is not
-- published) and the reason it is hidden: primary, secondary, linked or audit; `reason` is '' when published.
CREATE TABLE IF NOT EXISTS {database}.indicators
(
    indicator    LowCardinality(String),
    period_kind  LowCardinality(String),
    period       Date,
    dimension    LowCardinality(String),
    slice        String,
    category     LowCardinality(String),
    value        Nullable(Float64),
    numerator    Nullable(Float64),
    denominator  Nullable(Float64),
    workers      UInt32,
    suppressed   UInt8,
    reason       LowCardinality(String),
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYear(period)
ORDER BY (indicator, period_kind, dimension, slice, category, period);

CREATE TABLE IF NOT EXISTS {database}.indicators_staging AS {database}.indicators;

-- Tables created by a release before `reason` get it in the same place, so that both tables keep one structure
-- (REPLACE PARTITION needs it); old rows read '' until the next refresh, which republishes every year.
ALTER TABLE {database}.indicators ADD COLUMN IF NOT EXISTS reason LowCardinality(String) AFTER suppressed;
ALTER TABLE {database}.indicators_staging ADD COLUMN IF NOT EXISTS reason LowCardinality(String) AFTER suppressed;

-- Org units as last registered: labels and hierarchy for dashboards' variables.
CREATE TABLE IF NOT EXISTS {database}.org_units
(
    unit_id        String,
    parent_id      String,
    level          LowCardinality(String),
    name_zh        String,
    name_en        String,
    service_model  LowCardinality(String),
    district_id    String,
    street_id      String,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY unit_id;

-- The catalog itself, so dashboards label indicators in Chinese and English from one source.
CREATE TABLE IF NOT EXISTS {database}.indicator_catalog
(
    indicator  String,
    name_zh    String,
    name_en    String,
    unit       LowCardinality(String),
    formula    String,
    standard   String,
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY indicator;

-- Reference wages loaded by the operator (never invented): region `all` or a district unit_id.
CREATE TABLE IF NOT EXISTS {database}.reference_wages
(
    region         String,
    year           UInt16,
    annual_amount  Float64,
    source         String,
    loaded_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (region, year);

-- What the metrics service has refreshed: one row per refresh.
CREATE TABLE IF NOT EXISTS {database}.refresh_log
(
    refreshed_at    DateTime64(3, 'UTC'),
    as_of           Date,
    from_year       UInt16,
    events_seen_to  DateTime64(3, 'UTC'),
    rows_written    UInt64,
    anomalies       UInt64,
    seconds         Float64
)
ENGINE = MergeTree
ORDER BY refreshed_at;
