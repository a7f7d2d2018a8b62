-- Stand-in for the parts of pgsodium projects call, written on pgcrypto: random bytes, keys in
-- pgsodium.key (create_key, valid_key), HMAC-SHA-512-256 (crypto_auth), SHA-2 hashes, password
-- hashes, and the secretbox and deterministic AEAD round trips. Hashes, HMACs and random sizes
-- are libsodium's; ciphertexts are not (AES-CBC with an HMAC tag, synthetic IV for the
-- deterministic AEAD): they decrypt here, fail on a wrong key or a changed byte, and the
-- deterministic one is the same for the same input, which is what tests rely on. Transparent
-- column encryption (SECURITY LABEL FOR pgsodium) needs pgsodium's C code and is not here.
CREATE SCHEMA IF NOT EXISTS pgsodium;

CREATE TYPE pgsodium.key_status AS ENUM ('default', 'valid', 'invalid', 'expired');
CREATE TYPE pgsodium.key_type AS ENUM (
  'aead-ietf', 'aead-det', 'hmacsha512', 'hmacsha256', 'auth', 'shorthash', 'generichash', 'kdf',
  'secretbox', 'secretstream', 'stream_xchacha20'
);

CREATE TABLE pgsodium.key (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  status pgsodium.key_status DEFAULT 'valid',
  created timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires timestamp with time zone,
  key_type pgsodium.key_type,
  key_id bigserial,
  key_context bytea DEFAULT '\x7067736f6469756d'::bytea,
  name text UNIQUE,
  associated_data text DEFAULT 'associated',
  raw_key bytea,
  raw_key_nonce bytea,
  parent_key uuid REFERENCES pgsodium.key (id),
  comment text,
  user_data text
);
COMMENT ON TABLE pgsodium.key IS 'This table holds metadata for derived keys given a key_id and key_context.';

CREATE VIEW pgsodium.valid_key AS
  SELECT id, name, status, key_type, key_id, key_context, created, expires, associated_data
    FROM pgsodium.key
   WHERE status IN ('valid', 'default') AND CASE WHEN expires IS NULL THEN true ELSE expires > now() END;

CREATE FUNCTION pgsodium.randombytes_buf(size integer) RETURNS bytea
LANGUAGE sql VOLATILE STRICT SET search_path = '' AS $$
  SELECT @extschema:pgcrypto@.gen_random_bytes(size)
$$;

CREATE FUNCTION pgsodium.randombytes_random() RETURNS integer
LANGUAGE sql VOLATILE SET search_path = '' AS $$
  SELECT ('x' || pg_catalog.encode(@extschema:pgcrypto@.gen_random_bytes(4), 'hex'))::bit(32)::integer
$$;

CREATE FUNCTION pgsodium.randombytes_uniform(upper_bound integer) RETURNS integer
LANGUAGE sql VOLATILE STRICT SET search_path = '' AS $$
  SELECT (pg_catalog.abs(pgsodium.randombytes_random()::bigint) % upper_bound)::integer
$$;

CREATE FUNCTION pgsodium.crypto_secretbox_keygen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT pgsodium.randombytes_buf(32)
$$;
CREATE FUNCTION pgsodium.crypto_secretbox_noncegen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT pgsodium.randombytes_buf(24)
$$;
CREATE FUNCTION pgsodium.crypto_aead_det_keygen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT pgsodium.randombytes_buf(32)
$$;
CREATE FUNCTION pgsodium.crypto_aead_det_noncegen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT pgsodium.randombytes_buf(16)
$$;
CREATE FUNCTION pgsodium.crypto_auth_keygen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT pgsodium.randombytes_buf(32)
$$;

-- libsodium's crypto_auth is HMAC-SHA-512 cut to 32 bytes.
CREATE FUNCTION pgsodium.crypto_auth(message bytea, key bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT pg_catalog.substr(@extschema:pgcrypto@.hmac(message, key, 'sha512'), 1, 32)
$$;
CREATE FUNCTION pgsodium.crypto_auth_verify(mac bytea, message bytea, key bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT mac = pgsodium.crypto_auth(message, key)
$$;
CREATE FUNCTION pgsodium.crypto_auth_hmacsha256(message bytea, secret bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT @extschema:pgcrypto@.hmac(message, secret, 'sha256')
$$;
CREATE FUNCTION pgsodium.crypto_auth_hmacsha512(message bytea, secret bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT @extschema:pgcrypto@.hmac(message, secret, 'sha512')
$$;
CREATE FUNCTION pgsodium.crypto_hash_sha256(message bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT @extschema:pgcrypto@.digest(message, 'sha256')
$$;
CREATE FUNCTION pgsodium.crypto_hash_sha512(message bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT @extschema:pgcrypto@.digest(message, 'sha512')
$$;

-- Password hashes: bcrypt here (libsodium's are argon2id), verified the same way.
CREATE FUNCTION pgsodium.crypto_pwhash_str(password bytea) RETURNS bytea
LANGUAGE sql VOLATILE STRICT SET search_path = '' AS $$
  SELECT pg_catalog.convert_to(
    @extschema:pgcrypto@.crypt(pg_catalog.encode(password, 'escape'), @extschema:pgcrypto@.gen_salt('bf')), 'UTF8')
$$;
CREATE FUNCTION pgsodium.crypto_pwhash_str_verify(hashed_password bytea, password bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT @extschema:pgcrypto@.crypt(pg_catalog.encode(password, 'escape'), pg_catalog.convert_from(hashed_password, 'UTF8'))
         = pg_catalog.convert_from(hashed_password, 'UTF8')
$$;

-- The sealing both secretbox and the AEAD use: AES-256-CBC under a key derived from the key
-- given, then an HMAC-SHA-256 tag over IV, additional data and ciphertext, prepended.
CREATE FUNCTION pgsodium._seal(message bytea, additional bytea, key bytea, iv bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  WITH k AS (
    SELECT @extschema:pgcrypto@.hmac('enc'::bytea, key, 'sha256') AS enc,
           @extschema:pgcrypto@.hmac('mac'::bytea, key, 'sha256') AS mac
  ), c AS (
    SELECT @extschema:pgcrypto@.encrypt_iv(message, k.enc, iv, 'aes-cbc/pad:pkcs') AS body, k.mac FROM k
  )
  SELECT @extschema:pgcrypto@.hmac(iv || coalesce(additional, ''::bytea) || c.body, c.mac, 'sha256') || iv || c.body
    FROM c
$$;

CREATE FUNCTION pgsodium._open(sealed bytea, additional bytea, key bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
DECLARE
  tag bytea := pg_catalog.substr(sealed, 1, 32);
  iv bytea := pg_catalog.substr(sealed, 33, 16);
  body bytea := pg_catalog.substr(sealed, 49);
  enc bytea := @extschema:pgcrypto@.hmac('enc'::bytea, key, 'sha256');
  mac bytea := @extschema:pgcrypto@.hmac('mac'::bytea, key, 'sha256');
BEGIN
  IF pg_catalog.length(sealed) < 64
     OR tag <> @extschema:pgcrypto@.hmac(iv || coalesce(additional, ''::bytea) || body, mac, 'sha256') THEN
    RAISE EXCEPTION 'pgsodium_crypto_aead_det_decrypt_by_id: invalid ciphertext' USING ERRCODE = 'data_exception';
  END IF;
  RETURN @extschema:pgcrypto@.decrypt_iv(body, enc, iv, 'aes-cbc/pad:pkcs');
END
$$;

CREATE FUNCTION pgsodium.crypto_secretbox(message bytea, nonce bytea, key bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT pgsodium._seal(message, nonce, key, pg_catalog.substr(@extschema:pgcrypto@.digest(nonce, 'sha256'), 1, 16))
$$;
CREATE FUNCTION pgsodium.crypto_secretbox_open(ciphertext bytea, nonce bytea, key bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT pgsodium._open(ciphertext, nonce, key)
$$;

-- A key's bytes by id: its raw_key when it has one, else derived from the id and its context (as
-- pgsodium derives from the server's root key, which here is fixed: this is for tests only).
CREATE FUNCTION pgsodium._key_bytes(key_uuid uuid) RETURNS bytea
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce(k.raw_key, @extschema:pgcrypto@.hmac(
    pg_catalog.convert_to(k.key_id::text, 'UTF8') || coalesce(k.key_context, ''::bytea),
    'supamigrate pgsodium root key'::bytea, 'sha256'))
  FROM pgsodium.key k WHERE k.id = key_uuid
$$;

CREATE FUNCTION pgsodium._key_of(key_uuid uuid) RETURNS bytea LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
  bytes bytea := pgsodium._key_bytes(key_uuid);
BEGIN
  IF bytes IS NULL THEN
    RAISE EXCEPTION 'pgsodium: key % not found', key_uuid USING ERRCODE = 'no_data_found';
  END IF;
  RETURN bytes;
END
$$;

CREATE FUNCTION pgsodium.crypto_aead_det_encrypt(message bytea, additional bytea, key bytea, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT pgsodium._seal(message, additional, key, pg_catalog.substr(
    @extschema:pgcrypto@.hmac(coalesce(nonce, ''::bytea) || message || coalesce(additional, ''::bytea), key, 'sha256'),
    1, 16))
$$;
CREATE FUNCTION pgsodium.crypto_aead_det_decrypt(message bytea, additional bytea, key bytea, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT pgsodium._open(message, additional, key)
$$;
CREATE FUNCTION pgsodium.crypto_aead_det_encrypt(message bytea, additional bytea, key_uuid uuid, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pgsodium.crypto_aead_det_encrypt(message, additional, pgsodium._key_of(key_uuid), nonce)
$$;
CREATE FUNCTION pgsodium.crypto_aead_det_decrypt(message bytea, additional bytea, key_uuid uuid, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pgsodium.crypto_aead_det_decrypt(message, additional, pgsodium._key_of(key_uuid), nonce)
$$;

CREATE FUNCTION pgsodium.create_key(
  key_type pgsodium.key_type DEFAULT 'aead-det',
  name text DEFAULT NULL,
  raw_key bytea DEFAULT NULL,
  raw_key_nonce bytea DEFAULT NULL,
  parent_key uuid DEFAULT NULL,
  key_context bytea DEFAULT '\x7067736f6469756d'::bytea,
  expires timestamp with time zone DEFAULT NULL,
  associated_data text DEFAULT ''
) RETURNS pgsodium.valid_key LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  new_id uuid;
  result pgsodium.valid_key;
BEGIN
  INSERT INTO pgsodium.key (key_type, name, raw_key, raw_key_nonce, parent_key, key_context, expires, associated_data)
  VALUES (create_key.key_type, create_key.name, create_key.raw_key, create_key.raw_key_nonce, create_key.parent_key,
          create_key.key_context, create_key.expires, create_key.associated_data)
  RETURNING id INTO new_id;
  SELECT * INTO result FROM pgsodium.valid_key v WHERE v.id = new_id;
  RETURN result;
END
$$;

-- As on the platform: pgsodium_keyiduser and friends are the platform's; postgres uses pgsodium.
GRANT USAGE ON SCHEMA pgsodium TO postgres, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON pgsodium.key TO postgres;
GRANT SELECT ON pgsodium.valid_key TO postgres, service_role;
GRANT USAGE ON SEQUENCE pgsodium.key_key_id_seq TO postgres;
