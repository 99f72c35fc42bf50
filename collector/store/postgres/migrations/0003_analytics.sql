-- Read-only views for analysts and BI tools: the schema `analytics`, one view per dataset of
-- collector/export/ (`uptime_days`, `incidents`, `notifications`, `config_changes`) with the
-- same columns, in the same order, as the API's and the CLI's CSV and JSON lines. They are a
-- contract: a column is never renamed, retyped or removed; new columns are only appended.
--
-- The role `scriptmon_analyst` (NOLOGIN; roles are the cluster's, so databases share it) may read
-- these views and nothing else: no access to `kv`. An admin gives someone a login in it:
--   CREATE ROLE bi LOGIN PASSWORD '...' IN ROLE scriptmon_analyst;
-- A migration that adds a view grants it SELECT too.
--
-- The views read `kv` (rollups, alerts, the outbox, the central config stay there; only the
-- history moved to `kv_history`). Keys are encoded by shared/kv/key_codec.ts; each view takes
-- the range of one key prefix (0x02, a part's UTF-8, 0x00 per string part), so the primary key
-- finds it, and its fields from the JSON value where the value has them.

-- The `part`-th part (from 1) of an encoded key when it is a string, else NULL (a number, a
-- boolean, bytes, or a string holding a NUL, which text cannot). See key_codec.ts: a string is
-- 0x02, its UTF-8 with each 0x00 written 0x00 0xFF, then 0x00; a number 0x04 and 8 bytes; a
-- bigint 0x03, a sign, a length and the magnitude; a boolean 0x05 and 1 byte.
CREATE FUNCTION kv_key_text(k bytea, part integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  len integer := length(k);
  i integer := 0; -- 0-based, as get_byte counts
  n integer := 1;
  tag integer;
  start integer;
  found integer;
  raw bytea;
BEGIN
  WHILE i < len LOOP
    tag := get_byte(k, i);
    i := i + 1;
    IF tag IN (1, 2) THEN
      start := i;
      LOOP
        found := position('\x00'::bytea IN substring(k FROM i + 1));
        IF found = 0 THEN
          RETURN NULL;
        END IF;
        i := i + found;
        EXIT WHEN i >= len OR get_byte(k, i) <> 255;
        i := i + 1; -- an escaped 0x00 inside the part
      END LOOP;
      IF n = part THEN
        raw := substring(k FROM start + 1 FOR i - 1 - start);
        IF tag = 1 OR position('\x00'::bytea IN raw) > 0 THEN
          RETURN NULL;
        END IF;
        RETURN convert_from(raw, 'UTF8');
      END IF;
    ELSIF tag = 3 AND i + 1 < len THEN
      i := i + 2 + CASE WHEN get_byte(k, i) = 0 THEN 255 - get_byte(k, i + 1)
                        ELSE get_byte(k, i + 1) END;
    ELSIF tag = 4 THEN
      i := i + 8;
    ELSIF tag = 5 THEN
      i := i + 1;
    ELSE
      RETURN NULL;
    END IF;
    IF n = part THEN
      RETURN NULL;
    END IF;
    n := n + 1;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS
  'scriptmon: read-only views for analysts (README, "Exports for analysts"); columns are only ever appended';

-- ["rollup", site, host, script, dayMs] -> {day, upMs, downMs, idleMs, unknownMs, restarts}
CREATE VIEW analytics.uptime_days AS
SELECT
  kv_key_text(r.key, 2) AS site,
  kv_key_text(r.key, 3) AS host,
  kv_key_text(r.key, 4) AS script,
  date '1970-01-01' + ((r.value ->> 'day')::bigint / 86400000)::integer AS day,
  ms.up / 1000 AS up_seconds,
  ms.down / 1000 AS down_seconds,
  (r.value ->> 'idleMs')::double precision / 1000 AS idle_seconds,
  (r.value ->> 'unknownMs')::double precision / 1000 AS unknown_seconds,
  CASE WHEN ms.up + ms.down > 0 THEN ms.up / (ms.up + ms.down) END AS uptime_ratio,
  (r.value ->> 'restarts')::integer AS restarts
FROM kv AS r
CROSS JOIN LATERAL (
  SELECT (r.value ->> 'upMs')::double precision AS up,
         (r.value ->> 'downMs')::double precision AS down
) AS ms
WHERE r.key > '\x02726f6c6c757000'::bytea AND r.key < '\x02726f6c6c757000ff'::bytea
  AND (r.expires_at IS NULL OR r.expires_at > now());
COMMENT ON VIEW analytics.uptime_days IS
  'Each script''s uptime per UTC day, from the daily rollups (days that have ended)';

-- ["alert", id] -> AlertRecord (collector/store/alerts.ts)
CREATE VIEW analytics.incidents AS
SELECT
  a.value ->> 'id' AS id,
  a.value ->> 'site' AS site,
  a.value ->> 'host' AS host,
  a.value ->> 'script' AS script,
  a.value ->> 'check' AS check_name,
  a.value ->> 'rule' AS rule,
  a.value ->> 'severity' AS severity,
  a.value ->> 'title' AS title,
  (a.value ->> 'firedAt')::timestamptz AS started_at,
  (a.value ->> 'resolvedAt')::timestamptz AS resolved_at,
  (extract(epoch FROM (a.value ->> 'resolvedAt')::timestamptz)
    - extract(epoch FROM (a.value ->> 'firedAt')::timestamptz))::double precision
    AS duration_seconds,
  a.value ->> 'acknowledgedBy' AS acknowledged_by,
  (a.value ->> 'acknowledgedAt')::timestamptz AS acknowledged_at
FROM kv AS a
WHERE a.key > '\x02616c65727400'::bytea AND a.key < '\x02616c65727400ff'::bytea
  AND (a.expires_at IS NULL OR a.expires_at > now());
COMMENT ON VIEW analytics.incidents IS
  'Every alert episode: what fired where, when it resolved, who acknowledged it';

-- ["outbox", "msg", id] -> the record without its payload; ["outbox", "payload", id] -> the
-- payload's JSON as bytes ({"$bytes": base64}); shared/notify/_outbox_store.ts.
CREATE VIEW analytics.notifications AS
SELECT
  m.value ->> 'id' AS id,
  m.value ->> 'channel' AS channel,
  m.value ->> 'state' AS state,
  (m.value ->> 'createdAt')::timestamptz AS created_at,
  (m.value ->> 'updatedAt')::timestamptz AS updated_at,
  CASE WHEN m.value ->> 'state' = 'sent' THEN (m.value ->> 'updatedAt')::timestamptz END AS sent_at,
  (m.value ->> 'attempts')::integer AS attempts,
  CASE WHEN json_typeof(m.value -> 'providerStatus') = 'number'
    THEN (m.value ->> 'providerStatus')::integer END AS provider_status,
  p.payload ->> 'type' AS kind,
  p.payload -> 'alert' ->> 'rule' AS rule,
  p.payload -> 'alert' ->> 'severity' AS severity,
  p.payload -> 'alert' ->> 'status' AS status,
  p.payload -> 'alert' ->> 'site' AS site,
  p.payload -> 'alert' ->> 'host' AS host,
  p.payload -> 'alert' ->> 'script' AS script,
  p.payload -> 'alert' ->> 'title' AS title,
  CASE WHEN p.payload ->> 'type' = 'alert' THEN 1 + CASE
    WHEN json_typeof(p.payload -> 'alert' -> 'group') = 'array'
    THEN json_array_length(p.payload -> 'alert' -> 'group') ELSE 0 END END AS alert_count
FROM kv AS m
CROSS JOIN LATERAL (
  SELECT convert_from(decode(b.value ->> '$bytes', 'base64'), 'UTF8')::json AS payload
  FROM kv AS b
  WHERE b.key = '\x026f7574626f7800027061796c6f616400'::bytea || substring(m.key FROM 14)
    AND (b.expires_at IS NULL OR b.expires_at > now())
) AS p
WHERE m.key > '\x026f7574626f7800026d736700'::bytea
  AND m.key < '\x026f7574626f7800026d736700ff'::bytea
  AND (m.expires_at IS NULL OR m.expires_at > now());
COMMENT ON VIEW analytics.notifications IS
  'Every message the collector queued for its webhooks: channel, state, attempts, the alert it carries';

-- ["central", "version", n] -> ConfigVersion (collector/central/store.ts)
CREATE VIEW analytics.config_changes AS
SELECT
  (v.value ->> 'version')::integer AS version,
  (v.value ->> 'at')::timestamptz AS changed_at,
  v.value ->> 'by' AS changed_by,
  v.value ->> 'why' AS why,
  v.value ->> 'action' AS action,
  array_to_string(ARRAY(
    SELECT d.doc FROM json_array_elements_text(v.value -> 'changed') WITH ORDINALITY AS d(doc, n)
    ORDER BY d.n
  ), ' ') AS documents,
  CASE WHEN json_typeof(v.value -> 'rollbackTo') = 'number'
    THEN (v.value ->> 'rollbackTo')::integer END AS rollback_to,
  v.value ->> 'rollout' AS rollout
FROM kv AS v
WHERE v.key > '\x0263656e7472616c000276657273696f6e00'::bytea
  AND v.key < '\x0263656e7472616c000276657273696f6e00ff'::bytea
  AND (v.expires_at IS NULL OR v.expires_at > now());
COMMENT ON VIEW analytics.config_changes IS
  'Every version of the central config: who changed which documents, when and why';

-- The role, once per cluster (another database's migration may make it at the same moment). A
-- collector whose user may not create roles warns and goes on: a superuser then runs
--   CREATE ROLE scriptmon_analyst NOLOGIN;
--   GRANT USAGE ON SCHEMA analytics TO scriptmon_analyst;
--   GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO scriptmon_analyst;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scriptmon_analyst') THEN
    BEGIN
      CREATE ROLE scriptmon_analyst NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL;
      WHEN insufficient_privilege THEN
        RAISE WARNING 'Cannot create the role scriptmon_analyst (%); the analytics views are made '
          'without it: see migrations/0003_analytics.sql for the statements to run', SQLERRM;
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'scriptmon_analyst') THEN
    GRANT USAGE ON SCHEMA analytics TO scriptmon_analyst;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO scriptmon_analyst;
    GRANT EXECUTE ON FUNCTION kv_key_text(bytea, integer) TO scriptmon_analyst;
  END IF;
END
$$;
