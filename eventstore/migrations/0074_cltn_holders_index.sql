-- Every evaluation asks which holders of a region are released from their post by an approved CLTN on the
-- requested days (services/kernel/readmodels.py, `usage_for`). Without this index that question walked every
-- request of the region, so each submission cost more as the region's history grew; approved CLTNs are few.
CREATE INDEX rm_requests_approved_cltn ON rm_requests (region) WHERE kind = 'CLTN' AND status = 'APPROVED';
