-- =====================================================================================
-- whoop-dagster: Snowflake setup for Dagster+ (prod and branch deployments)
--
-- Run once, as a user who holds SYSADMIN and SECURITYADMIN (e.g. an ACCOUNTADMIN), in a
-- Snowsight worksheet with "Run All" or with `snow sql -f deploy/snowflake_setup.sql`.
-- Every statement is idempotent (IF NOT EXISTS / grants), so re-running it is safe.
--
-- Before running, replace the three '<..._RSA_PUBLIC_KEY>' placeholders with the public
-- keys generated as deploy/README.md shows (the base64 body of each .pub file, without
-- the BEGIN/END lines). No password is set for any user: key-pair authentication only.
--
-- What it creates:
--   warehouse WHOOP_WH                      XSMALL, suspends after 60 s idle
--   database  WHOOP                         schemas RAW STAGING INTERMEDIATE MARTS METRICS ML SNAPSHOTS
--   role WHOOP_TRANSFORMER                  prod: owns and writes everything in WHOOP
--   role WHOOP_BRANCH_TRANSFORMER           branch deployments: owns their clones, no privilege on WHOOP
--   role WHOOP_BRANCH_CLONER                CI only: creates WHOOP_BRANCH_<PR> = CLONE WHOOP, drops it
--   user WHOOP_DAGSTER                      prod code location          (role WHOOP_TRANSFORMER)
--   user WHOOP_DAGSTER_BRANCH               branch deployments          (role WHOOP_BRANCH_TRANSFORMER)
--   user WHOOP_CI_CLONER                    .github/workflows/deploy.yml (role WHOOP_BRANCH_CLONER)
-- =====================================================================================


-- -------------------------------------------------------------------------------------
-- 1. Compute. One extra-small warehouse is plenty: a day of WHOOP data is a few hundred
--    rows. It suspends after 60 s idle and resumes on the next query, so an idle
--    pipeline costs nothing; INITIALLY_SUSPENDED avoids billing for the creation itself.
-- -------------------------------------------------------------------------------------
USE ROLE SYSADMIN;

CREATE WAREHOUSE IF NOT EXISTS WHOOP_WH
    WAREHOUSE_SIZE = XSMALL
    AUTO_SUSPEND = 60
    AUTO_RESUME = TRUE
    INITIALLY_SUSPENDED = TRUE
    COMMENT = 'whoop-dagster: raw loads, dbt and ML';


-- -------------------------------------------------------------------------------------
-- 2. Storage. One database; one schema per layer, named as in dbt and the raw assets:
--    RAW (raw.<endpoint> tables and the WHOOP token store raw.whoop_oauth_tokens),
--    STAGING, INTERMEDIATE, MARTS, METRICS (dbt), ML (forecasts, anomalies), SNAPSHOTS.
--    Created here by SYSADMIN, handed to WHOOP_TRANSFORMER in section 4.
-- -------------------------------------------------------------------------------------
CREATE DATABASE IF NOT EXISTS WHOOP COMMENT = 'whoop-dagster production warehouse';

CREATE SCHEMA IF NOT EXISTS WHOOP.RAW          COMMENT = 'raw API loads, one table per endpoint; WHOOP token store';
CREATE SCHEMA IF NOT EXISTS WHOOP.STAGING      COMMENT = 'dbt staging models';
CREATE SCHEMA IF NOT EXISTS WHOOP.INTERMEDIATE COMMENT = 'dbt intermediate models';
CREATE SCHEMA IF NOT EXISTS WHOOP.MARTS        COMMENT = 'dbt marts: dimensions and facts';
CREATE SCHEMA IF NOT EXISTS WHOOP.METRICS      COMMENT = 'dbt metrics models';
CREATE SCHEMA IF NOT EXISTS WHOOP.ML           COMMENT = 'recovery forecast and anomalies';
CREATE SCHEMA IF NOT EXISTS WHOOP.SNAPSHOTS    COMMENT = 'dbt snapshots';


-- -------------------------------------------------------------------------------------
-- 3. Roles. Custom roles roll up to SYSADMIN, as Snowflake recommends, so administrators
--    can always see and fix what the pipeline owns.
-- -------------------------------------------------------------------------------------
USE ROLE SECURITYADMIN;

CREATE ROLE IF NOT EXISTS WHOOP_TRANSFORMER
    COMMENT = 'whoop-dagster prod: raw loads, dbt, ML; owns everything in database WHOOP';
CREATE ROLE IF NOT EXISTS WHOOP_BRANCH_TRANSFORMER
    COMMENT = 'whoop-dagster branch deployments: owns the WHOOP_BRANCH_<PR> clones; no privilege on WHOOP';
CREATE ROLE IF NOT EXISTS WHOOP_BRANCH_CLONER
    COMMENT = 'whoop-dagster CI: creates and drops WHOOP_BRANCH_<PR> clones of WHOOP';

GRANT ROLE WHOOP_TRANSFORMER        TO ROLE SYSADMIN;
GRANT ROLE WHOOP_BRANCH_TRANSFORMER TO ROLE SYSADMIN;
GRANT ROLE WHOOP_BRANCH_CLONER      TO ROLE SYSADMIN;


-- -------------------------------------------------------------------------------------
-- 4. WHOOP_TRANSFORMER: what the prod code location needs.
--    - run queries on WHOOP_WH (OPERATE lets it resume the suspended warehouse);
--    - create schemas (the warehouse layer and dbt run CREATE SCHEMA IF NOT EXISTS);
--    - OWN every schema. One owner for everything under WHOOP keeps dbt's
--      CREATE OR REPLACE working and is what lets WHOOP_BRANCH_CLONER hand a whole
--      clone over to the branch role (a clone's children keep their source owner);
--    - all privileges on existing and FUTURE tables and views, so that an object
--      someone else creates in WHOOP (an admin's backfill table, say) is still
--      readable and writable by the pipeline.
-- -------------------------------------------------------------------------------------
GRANT USAGE, OPERATE ON WAREHOUSE WHOOP_WH TO ROLE WHOOP_TRANSFORMER;
GRANT USAGE, CREATE SCHEMA ON DATABASE WHOOP TO ROLE WHOOP_TRANSFORMER;

GRANT OWNERSHIP ON SCHEMA WHOOP.PUBLIC       TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.RAW          TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.STAGING      TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.INTERMEDIATE TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.MARTS        TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.METRICS      TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.ML           TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;
GRANT OWNERSHIP ON SCHEMA WHOOP.SNAPSHOTS    TO ROLE WHOOP_TRANSFORMER COPY CURRENT GRANTS;

GRANT ALL PRIVILEGES ON ALL TABLES    IN DATABASE WHOOP TO ROLE WHOOP_TRANSFORMER;
GRANT ALL PRIVILEGES ON ALL VIEWS     IN DATABASE WHOOP TO ROLE WHOOP_TRANSFORMER;
GRANT ALL PRIVILEGES ON FUTURE TABLES IN DATABASE WHOOP TO ROLE WHOOP_TRANSFORMER;
GRANT ALL PRIVILEGES ON FUTURE VIEWS  IN DATABASE WHOOP TO ROLE WHOOP_TRANSFORMER;


-- -------------------------------------------------------------------------------------
-- 5. WHOOP_BRANCH_TRANSFORMER: what a branch deployment needs — and nothing on WHOOP.
--    It may use the warehouse. Its databases (WHOOP_BRANCH_<PR>) are created and handed
--    to it by WHOOP_BRANCH_CLONER; it owns them outright, so dbt and the raw loads work
--    there exactly as in prod. Snowflake itself refuses any write from a branch
--    deployment to WHOOP: this role has no grant there.
-- -------------------------------------------------------------------------------------
GRANT USAGE, OPERATE ON WAREHOUSE WHOOP_WH TO ROLE WHOOP_BRANCH_TRANSFORMER;


-- -------------------------------------------------------------------------------------
-- 6. WHOOP_BRANCH_CLONER: the role for branch clones, used only by the deploy workflow
--    (its key is a GitHub Actions secret, never a Dagster+ variable). It
--    - may CREATE DATABASE (a zero-copy `CREATE DATABASE WHOOP_BRANCH_<PR> CLONE WHOOP`);
--    - inherits WHOOP_TRANSFORMER, because cloning reads all of WHOOP and because the
--      clone's schemas/tables keep WHOOP_TRANSFORMER as owner until the cloner hands
--      them to WHOOP_BRANCH_TRANSFORMER (GRANT OWNERSHIP ... REVOKE CURRENT GRANTS);
--    - inherits WHOOP_BRANCH_TRANSFORMER, so it can drop the clone when the PR closes.
-- -------------------------------------------------------------------------------------
GRANT CREATE DATABASE ON ACCOUNT TO ROLE WHOOP_BRANCH_CLONER;
GRANT USAGE, OPERATE ON WAREHOUSE WHOOP_WH TO ROLE WHOOP_BRANCH_CLONER;
GRANT ROLE WHOOP_TRANSFORMER        TO ROLE WHOOP_BRANCH_CLONER;
GRANT ROLE WHOOP_BRANCH_TRANSFORMER TO ROLE WHOOP_BRANCH_CLONER;


-- -------------------------------------------------------------------------------------
-- 7. Users. Service users (TYPE = SERVICE: no password, no MFA prompt, key pair only),
--    one per purpose so each key can be rotated or revoked alone. DEFAULT_ROLE and
--    DEFAULT_WAREHOUSE let a connection that names neither still work; the
--    SNOWFLAKE_ROLE / SNOWFLAKE_WAREHOUSE variables in Dagster+ say the same explicitly.
--    Key rotation: ALTER USER ... SET RSA_PUBLIC_KEY_2 = '<new>'; switch the secret;
--    then ALTER USER ... UNSET RSA_PUBLIC_KEY.
-- -------------------------------------------------------------------------------------
CREATE USER IF NOT EXISTS WHOOP_DAGSTER
    TYPE = SERVICE
    RSA_PUBLIC_KEY = '<WHOOP_DAGSTER_RSA_PUBLIC_KEY>'
    DEFAULT_ROLE = WHOOP_TRANSFORMER
    DEFAULT_WAREHOUSE = WHOOP_WH
    DEFAULT_NAMESPACE = WHOOP.RAW
    COMMENT = 'whoop-dagster prod code location (Dagster+ full deployment)';
GRANT ROLE WHOOP_TRANSFORMER TO USER WHOOP_DAGSTER;

CREATE USER IF NOT EXISTS WHOOP_DAGSTER_BRANCH
    TYPE = SERVICE
    RSA_PUBLIC_KEY = '<WHOOP_DAGSTER_BRANCH_RSA_PUBLIC_KEY>'
    DEFAULT_ROLE = WHOOP_BRANCH_TRANSFORMER
    DEFAULT_WAREHOUSE = WHOOP_WH
    COMMENT = 'whoop-dagster branch deployments (Dagster+ branch scope): WHOOP_BRANCH_<PR> only';
GRANT ROLE WHOOP_BRANCH_TRANSFORMER TO USER WHOOP_DAGSTER_BRANCH;

CREATE USER IF NOT EXISTS WHOOP_CI_CLONER
    TYPE = SERVICE
    RSA_PUBLIC_KEY = '<WHOOP_CI_CLONER_RSA_PUBLIC_KEY>'
    DEFAULT_ROLE = WHOOP_BRANCH_CLONER
    DEFAULT_WAREHOUSE = WHOOP_WH
    COMMENT = 'whoop-dagster GitHub Actions: creates/drops WHOOP_BRANCH_<PR> clones';
GRANT ROLE WHOOP_BRANCH_CLONER TO USER WHOOP_CI_CLONER;


-- -------------------------------------------------------------------------------------
-- 8. Check. The fingerprints must match the keys you generated
--    (openssl rsa -pubin -in <key>.pub -outform DER | openssl dgst -sha256 -binary | openssl enc -base64).
-- -------------------------------------------------------------------------------------
DESC USER WHOOP_DAGSTER;
SHOW GRANTS TO ROLE WHOOP_TRANSFORMER;
SHOW GRANTS TO ROLE WHOOP_BRANCH_TRANSFORMER;
SHOW GRANTS TO ROLE WHOOP_BRANCH_CLONER;
