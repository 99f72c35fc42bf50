-- History in day tables: events, state changes and presence marks, resource samples move out of
-- `kv` into `kv_history`, partitioned by kind and then by the UTC day of the record's own time
-- (an event's `at`, a sample's time). Retention drops a whole day's table instead of deleting
-- its rows one by one (`history_tables.ts`). Keys, values and versions are as in `kv`.

CREATE TABLE kv_history (
  -- 'events' (["event", ...], ["event_time", ...]), 'transitions' (["transition", ...],
  -- ["presence", ...]) or 'samples' (["sample", ...]).
  kind text NOT NULL,
  key bytea NOT NULL,
  value json NOT NULL,
  version bigint NOT NULL,
  expires_at timestamptz,
  day date NOT NULL,
  -- A key is in one day's table (its day follows from its time); were it ever written again
  -- with another time, readers take the newest version.
  PRIMARY KEY (key, kind, day)
) PARTITION BY LIST (kind);

CREATE TABLE kv_history_events PARTITION OF kv_history
  FOR VALUES IN ('events') PARTITION BY RANGE (day);
CREATE TABLE kv_history_transitions PARTITION OF kv_history
  FOR VALUES IN ('transitions') PARTITION BY RANGE (day);
CREATE TABLE kv_history_samples PARTITION OF kv_history
  FOR VALUES IN ('samples') PARTITION BY RANGE (day);

-- The kind of an encoded key (see _key_codec.ts: 0x02, the first part's UTF-8, 0x00), or NULL
-- for a key that stays in `kv`. pg_kv.ts routes keys the same way (a test holds them together).
CREATE FUNCTION kv_history_kind(k bytea) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN substring(k FROM 1 FOR 7) = '\x026576656e7400'::bytea
      OR substring(k FROM 1 FOR 12) = '\x026576656e745f74696d6500'::bytea THEN 'events'
    WHEN substring(k FROM 1 FOR 12) = '\x027472616e736974696f6e00'::bytea
      OR substring(k FROM 1 FOR 10) = '\x0270726573656e636500'::bytea THEN 'transitions'
    WHEN substring(k FROM 1 FOR 8) = '\x0273616d706c6500'::bytea THEN 'samples'
  END
$$;

-- Creates the table of one kind's day unless it exists; true when it created it. Replicas may
-- call it at once: creation is serialised by an advisory lock (class 0x5c417, object 2).
CREATE FUNCTION kv_history_add_day(history_kind text, history_day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  day_table text := format('kv_history_%s_%s', history_kind, to_char(history_day, 'YYYYMMDD'));
BEGIN
  IF to_regclass(day_table) IS NOT NULL THEN
    RETURN false;
  END IF;
  PERFORM pg_advisory_xact_lock(377879, 2);
  IF to_regclass(day_table) IS NOT NULL THEN
    RETURN false;
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
      day_table, 'kv_history_' || history_kind, history_day, history_day + 1);
  EXCEPTION WHEN duplicate_table OR unique_violation THEN
    -- Made by another replica just before the lock was ours (its catalog entry unseen here).
    RETURN false;
  END;
  RETURN true;
END
$$;

-- Records a store migrated from 0001 kept in `kv` move to today's tables (their own times are
-- inside the keys and values, which SQL does not decode): they are kept a little longer.
SELECT kv_history_add_day(kind, (now() AT TIME ZONE 'UTC')::date)
FROM unnest(ARRAY['events', 'transitions', 'samples']) AS kind;

INSERT INTO kv_history (kind, key, value, version, expires_at, day)
SELECT kv_history_kind(key), key, value, version, expires_at, (now() AT TIME ZONE 'UTC')::date
FROM kv WHERE kv_history_kind(key) IS NOT NULL;

DELETE FROM kv WHERE kv_history_kind(key) IS NOT NULL;

-- kv_commit as in 0001, with history keys in kv_history, and its arguments as arrays (no JSON to
-- parse but the values): checks (hex key, version or NULL for absent, history kind or NULL), then
-- mutations (type, hex key, value as JSON text, expireIn ms, history kind, day for a history set;
-- the day's table must exist). Mutations of distinct keys are applied in a few set-wise
-- statements; a commit that touches a key twice is applied one mutation at a time, in order.
DROP FUNCTION kv_commit(json);

CREATE FUNCTION kv_commit(
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
    DELETE FROM kv WHERE key IN (
      SELECT decode(o.k, 'hex') FROM unnest(op_types, op_keys, op_kinds) AS o(t, k, h)
      WHERE o.t = 'delete' AND o.h IS NULL);
    DELETE FROM kv_history AS d USING unnest(op_types, op_keys, op_kinds) AS o(t, k, h)
    WHERE o.t = 'delete' AND o.h IS NOT NULL AND d.kind = o.h AND d.key = decode(o.k, 'hex');
    INSERT INTO kv (key, value, version, expires_at)
    SELECT decode(o.k, 'hex'), o.v::json, commit_version, now() + o.e * interval '1 millisecond'
    FROM unnest(op_types, op_keys, op_values, op_expires, op_kinds) AS o(t, k, v, e, h)
    WHERE o.t = 'set' AND o.h IS NULL
    ON CONFLICT (key) DO UPDATE
    SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
    INSERT INTO kv_history (kind, key, value, version, expires_at, day)
    SELECT o.h, decode(o.k, 'hex'), o.v::json, commit_version,
           now() + o.e * interval '1 millisecond', o.d
    FROM unnest(op_types, op_keys, op_values, op_expires, op_kinds, op_days) AS o(t, k, v, e, h, d)
    WHERE o.t = 'set' AND o.h IS NOT NULL
    ON CONFLICT (key, kind, day) DO UPDATE
    SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
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
