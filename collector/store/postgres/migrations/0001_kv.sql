-- The key-value table behind the collector's store: every record the Deno KV store keeps, under
-- the same keys (encoded so that bytea order is KV order), with the same versionstamps and
-- atomic checks, so any number of collectors can share it.

CREATE TABLE kv (
  key bytea PRIMARY KEY,
  -- The value as tagged JSON (collector/store/backup.ts: encodeValue).
  value json NOT NULL,
  -- The versionstamp: every mutation of one commit gets the same number.
  version bigint NOT NULL,
  -- Judged by the database's clock; NULL: never expires.
  expires_at timestamptz
);

CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;

CREATE SEQUENCE kv_version;

-- One atomic commit: checks first (every key must have the given version, NULL: absent), then the
-- mutations in order. Returns the commit's version, or NULL when a check failed (nothing written).
-- Every key the commit reads or writes is locked for the transaction (advisory locks taken in one
-- order), so commits touching a key are serialised as in Deno KV.
--   commit_json: {"checks": [{"k": hex, "v": "123" | null}],
--                 "ops": [{"t": "set" | "delete" | "sum" | "min" | "max", "k": hex, "v": json, "e": ms | null}]}
CREATE FUNCTION kv_commit(commit_json json) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  item json;
  target bytea;
  found_version bigint;
  old_u64 numeric;
  operand numeric;
  result_u64 numeric;
  commit_version bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(h)
  FROM (
    SELECT DISTINCT hashtextextended(k, 0) AS h
    FROM (
      SELECT c ->> 'k' AS k FROM json_array_elements(commit_json -> 'checks') AS c
      UNION ALL
      SELECT o ->> 'k' FROM json_array_elements(commit_json -> 'ops') AS o
    ) AS touched
    ORDER BY 1
  ) AS locks;

  FOR item IN SELECT * FROM json_array_elements(commit_json -> 'checks') LOOP
    SELECT version INTO found_version FROM kv
    WHERE key = decode(item ->> 'k', 'hex') AND (expires_at IS NULL OR expires_at > now());
    IF found_version IS DISTINCT FROM (item ->> 'v')::bigint THEN
      RETURN NULL;
    END IF;
  END LOOP;

  commit_version := nextval('kv_version');
  FOR item IN SELECT * FROM json_array_elements(commit_json -> 'ops') LOOP
    target := decode(item ->> 'k', 'hex');
    IF item ->> 't' = 'delete' THEN
      DELETE FROM kv WHERE key = target;
    ELSIF item ->> 't' = 'set' THEN
      INSERT INTO kv (key, value, version, expires_at)
      VALUES (target, item -> 'v', commit_version,
              now() + (item ->> 'e')::bigint * interval '1 millisecond')
      ON CONFLICT (key) DO UPDATE
      SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
    ELSE
      -- sum, min, max of 64-bit unsigned integers ({"$u64": "<decimal>"}), sums wrapping.
      old_u64 := NULL;
      SELECT (value ->> '$u64')::numeric INTO old_u64 FROM kv
      WHERE key = target AND (expires_at IS NULL OR expires_at > now());
      operand := (item -> 'v' ->> '$u64')::numeric;
      IF old_u64 IS NULL THEN
        result_u64 := operand;
      ELSIF item ->> 't' = 'sum' THEN
        result_u64 := mod(old_u64 + operand, 18446744073709551616);
      ELSIF item ->> 't' = 'min' THEN
        result_u64 := least(old_u64, operand);
      ELSE
        result_u64 := greatest(old_u64, operand);
      END IF;
      INSERT INTO kv (key, value, version, expires_at)
      VALUES (target, json_build_object('$u64', result_u64::text), commit_version, NULL)
      ON CONFLICT (key) DO UPDATE
      SET value = excluded.value, version = excluded.version, expires_at = NULL;
    END IF;
  END LOOP;
  RETURN commit_version;
END
$$;
