-- Priority (p1 first) from severity, predicted time to failure and the asset's criticality;
-- red alerts (a critical asset failing within a day, or a critical finding on one) skip approval.
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'p3';
ALTER TABLE tickets ADD COLUMN red_alert INTEGER NOT NULL DEFAULT 0;
