-- kv_commit as in 0002, with each set-wise statement run only when the commit has mutations of its
-- kind. A statement on `kv_history` opens and locks every day table it may touch: the DELETE
-- joined on `kind`, run by every commit until now, took each kind's every day (three kinds times
-- the days kept), so a commit cost more the longer the history was kept (at 90 days a heartbeat's
-- commit cost the database twice its CPU). Most commits delete nothing from the history, and the
-- ones of `kv` alone (alerts, leases, tokens) insert nothing there either.

CREATE OR REPLACE FUNCTION kv_commit(
  check_keys text[], check_versions bigint[], check_kinds text[],
  op_types text[], op_keys text[], op_values text[], op_expires bigint[], op_kinds text[],
  op_days date[]
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  i integer;
  target bytea;
  found_version bigint;
  old_u64 numeric;
  operand numeric;
  result_u64 numeric;
  commit_version bigint;
  each_once boolean;
  has_delete boolean := 'delete' = ANY (op_types);
  history_sets boolean;
  history_deletes boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(check_keys || op_keys) AS k ORDER BY 1)
    AS locks;

  FOR i IN 1 .. coalesce(array_length(check_keys, 1), 0) LOOP
    IF check_kinds[i] IS NULL THEN
      SELECT version INTO found_version FROM kv
      WHERE key = decode(check_keys[i], 'hex') AND (expires_at IS NULL OR expires_at > now());
    ELSE
      SELECT max(version) INTO found_version FROM kv_history
      WHERE kind = check_kinds[i] AND key = decode(check_keys[i], 'hex')
        AND (expires_at IS NULL OR expires_at > now());
    END IF;
    IF found_version IS DISTINCT FROM check_versions[i] THEN
      RETURN NULL;
    END IF;
  END LOOP;

  commit_version := nextval('kv_version');

  each_once := (SELECT count(DISTINCT k) FROM unnest(op_keys) AS k)
    = coalesce(array_length(op_keys, 1), 0);
  IF each_once THEN
    -- Every key once: the order of the mutations does not matter.
    history_sets := EXISTS (
      SELECT FROM unnest(op_types, op_kinds) AS o(t, h) WHERE o.t = 'set' AND o.h IS NOT NULL);
    history_deletes := has_delete AND EXISTS (
      SELECT FROM unnest(op_types, op_kinds) AS o(t, h) WHERE o.t = 'delete' AND o.h IS NOT NULL);
    IF has_delete THEN
      DELETE FROM kv WHERE key IN (
        SELECT decode(o.k, 'hex') FROM unnest(op_types, op_keys, op_kinds) AS o(t, k, h)
        WHERE o.t = 'delete' AND o.h IS NULL);
    END IF;
    IF history_deletes THEN
      DELETE FROM kv_history AS d USING unnest(op_types, op_keys, op_kinds) AS o(t, k, h)
      WHERE o.t = 'delete' AND o.h IS NOT NULL AND d.kind = o.h AND d.key = decode(o.k, 'hex');
    END IF;
    INSERT INTO kv (key, value, version, expires_at)
    SELECT decode(o.k, 'hex'), o.v::json, commit_version, now() + o.e * interval '1 millisecond'
    FROM unnest(op_types, op_keys, op_values, op_expires, op_kinds) AS o(t, k, v, e, h)
    WHERE o.t = 'set' AND o.h IS NULL
    ON CONFLICT (key) DO UPDATE
    SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
    IF history_sets THEN
      INSERT INTO kv_history (kind, key, value, version, expires_at, day)
      SELECT o.h, decode(o.k, 'hex'), o.v::json, commit_version,
             now() + o.e * interval '1 millisecond', o.d
      FROM unnest(op_types, op_keys, op_values, op_expires, op_kinds, op_days)
        AS o(t, k, v, e, h, d)
      WHERE o.t = 'set' AND o.h IS NOT NULL
      ON CONFLICT (key, kind, day) DO UPDATE
      SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
    END IF;
  END IF;

  FOR i IN 1 .. coalesce(array_length(op_keys, 1), 0) LOOP
    target := decode(op_keys[i], 'hex');
    IF op_types[i] IN ('set', 'delete') THEN
      CONTINUE WHEN each_once; -- applied above
      IF op_kinds[i] IS NOT NULL AND op_types[i] = 'delete' THEN
        DELETE FROM kv_history WHERE kind = op_kinds[i] AND key = target;
      ELSIF op_kinds[i] IS NOT NULL THEN
        INSERT INTO kv_history (kind, key, value, version, expires_at, day)
        VALUES (op_kinds[i], target, op_values[i]::json, commit_version,
                now() + op_expires[i] * interval '1 millisecond', op_days[i])
        ON CONFLICT (key, kind, day) DO UPDATE
        SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
      ELSIF op_types[i] = 'delete' THEN
        DELETE FROM kv WHERE key = target;
      ELSE
        INSERT INTO kv (key, value, version, expires_at)
        VALUES (target, op_values[i]::json, commit_version,
                now() + op_expires[i] * interval '1 millisecond')
        ON CONFLICT (key) DO UPDATE
        SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
      END IF;
    ELSIF op_kinds[i] IS NOT NULL THEN
      RAISE EXCEPTION 'kv_commit: % on a history key is not supported', op_types[i];
    ELSE
      -- sum, min, max of 64-bit unsigned integers ({"$u64": "<decimal>"}), sums wrapping.
      old_u64 := NULL;
      SELECT (value ->> '$u64')::numeric INTO old_u64 FROM kv
      WHERE key = target AND (expires_at IS NULL OR expires_at > now());
      operand := (op_values[i]::json ->> '$u64')::numeric;
      IF old_u64 IS NULL THEN
        result_u64 := operand;
      ELSIF op_types[i] = 'sum' THEN
        result_u64 := mod(old_u64 + operand, 18446744073709551616);
      ELSIF op_types[i] = 'min' THEN
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
