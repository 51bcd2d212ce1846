-- Every version of every fitted model, for audit: a finding names the version it was scored by.
-- Keyed by when it was fitted (data time), so a replay that refits the same model is a no-op.
CREATE TABLE models (
    asset_id     TEXT    NOT NULL,
    fitted_at_ms INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    method       TEXT    NOT NULL,
    model        TEXT    NOT NULL, -- the whole FittedModel as JSON
    PRIMARY KEY (asset_id, fitted_at_ms)
);
