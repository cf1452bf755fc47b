-- A leave form carries personal data (the reason, the address and phone during leave). It is kept sealed
-- under the requester's key, the key that sealed that data in the request: `pdf` is then empty and
-- `pdf_sealed` holds the ciphertext (kid, nonce, ct of {"pdf": base64}). When retention destroys the key,
-- the stored form is erased with the rest; its number and SHA-256 stay in the DocumentIssued event, so a
-- copy in someone's hands can still be verified.
ALTER TABLE documents ADD COLUMN pdf_sealed jsonb;
