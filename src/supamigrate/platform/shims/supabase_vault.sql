-- Stand-in for supabase_vault: vault.secrets, vault.decrypted_secrets, vault.create_secret and
-- vault.update_secret as the platform has them. The secret column holds a pgcrypto ciphertext
-- (keyed by the row's nonce, so it hides nothing from someone who can read the table: enough for
-- tests, never for real secrets).
CREATE SCHEMA IF NOT EXISTS vault;

CREATE TABLE vault.secrets (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  name text,
  description text NOT NULL DEFAULT '',
  secret text NOT NULL,
  key_id uuid,
  nonce bytea DEFAULT @extschema:pgcrypto@.gen_random_bytes(24),
  created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP
);
COMMENT ON TABLE vault.secrets IS 'Table with encrypted `secret` column for storing sensitive information on disk.';
CREATE UNIQUE INDEX secrets_name_idx ON vault.secrets (name) WHERE name IS NOT NULL;

CREATE FUNCTION vault._encrypt_secret() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  NEW.nonce := coalesce(NEW.nonce, @extschema:pgcrypto@.gen_random_bytes(24));
  NEW.secret := pg_catalog.encode(
    @extschema:pgcrypto@.pgp_sym_encrypt(NEW.secret, pg_catalog.encode(NEW.nonce, 'hex')), 'base64');
  RETURN NEW;
END
$$;

CREATE TRIGGER secrets_encrypt_secret_trigger_secret BEFORE INSERT OR UPDATE OF secret ON vault.secrets
  FOR EACH ROW EXECUTE FUNCTION vault._encrypt_secret();

CREATE VIEW vault.decrypted_secrets AS
  SELECT s.id, s.name, s.description, s.secret,
         @extschema:pgcrypto@.pgp_sym_decrypt(
           pg_catalog.decode(s.secret, 'base64'), pg_catalog.encode(s.nonce, 'hex')) AS decrypted_secret,
         s.key_id, s.nonce, s.created_at, s.updated_at
    FROM vault.secrets s;

CREATE FUNCTION vault.create_secret(
  new_secret text,
  new_name text DEFAULT NULL,
  new_description text DEFAULT '',
  new_key_id uuid DEFAULT NULL
) RETURNS uuid LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO vault.secrets (secret, name, description, key_id)
  VALUES (new_secret, new_name, new_description, new_key_id)
  RETURNING id
$$;

CREATE FUNCTION vault.update_secret(
  secret_id uuid,
  new_secret text DEFAULT NULL,
  new_name text DEFAULT NULL,
  new_description text DEFAULT NULL,
  new_key_id uuid DEFAULT NULL
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  UPDATE vault.secrets s
     SET name = coalesce(new_name, s.name),
         description = coalesce(new_description, s.description),
         key_id = coalesce(new_key_id, s.key_id),
         updated_at = CURRENT_TIMESTAMP
   WHERE s.id = secret_id;
  IF new_secret IS NOT NULL THEN
    UPDATE vault.secrets s SET secret = new_secret WHERE s.id = secret_id;
  END IF;
END
$$;

-- Only postgres (and whom it grants) reaches the vault, as on the platform.
REVOKE ALL ON SCHEMA vault FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA vault FROM PUBLIC;
GRANT USAGE ON SCHEMA vault TO postgres WITH GRANT OPTION;
GRANT SELECT, DELETE ON vault.secrets, vault.decrypted_secrets TO postgres WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid) TO postgres WITH GRANT OPTION;
