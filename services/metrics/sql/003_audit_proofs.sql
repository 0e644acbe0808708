-- The last passed publish audit's proofs (services/metrics/engine/proofs_codec.py, deflated then base64): a restarted
-- metrics service tries them before any LP instead of solving every hidden cell again. They tell how far hidden cells
-- could move from their true values, so they are as confidential as the events: only the metrics job reads them.
-- One row is kept: each audited publish inserts its own (a new id), then deletes every other.
CREATE TABLE IF NOT EXISTS {database}.audit_proofs
(
    id          String,
    written_at  DateTime64(3, 'UTC'),
    as_of       Date,
    points      UInt32,
    figures     UInt64,
    body        String
)
ENGINE = MergeTree
ORDER BY written_at;
