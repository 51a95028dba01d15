//! [`UtcTimestamp`], the one SQL type of every timestamp column, so that one
//! [`crate::schema`] serves both backends.
//!
//! diesel gives each backend its own timestamp-with-time-zone type (PostgreSQL's
//! `Timestamptz`, SQLite's `TimestamptzSqlite`), and a `table!` names exactly one SQL type
//! per column. [`UtcTimestamp`] stands for "whichever of the two the backend has": it
//! declares the same wire type as diesel's own (PostgreSQL `timestamptz`, OID 1184;
//! SQLite text), and [`StoredTimestamp`] reads and writes it by handing over to diesel's
//! own conversions, so the stored bytes are exactly those diesel would write.
//!
//! Each backend's half is behind this crate's feature of the same name (`postgres`,
//! `sqlite`).

use chrono::{DateTime, SubsecRound, Utc};
use diesel::expression::AsExpression;
use diesel::query_builder::QueryId;
use diesel::{deserialize::FromSqlRow, sql_types::SqlType};

/// A point in time with its time zone: `timestamptz` on PostgreSQL, RFC 3339 text on
/// SQLite (diesel's `TimestamptzSqlite` format).
#[derive(Debug, Clone, Copy, Default, QueryId, SqlType)]
#[cfg_attr(
    feature = "postgres",
    diesel(postgres_type(oid = 1184, array_oid = 1185))
)]
#[cfg_attr(feature = "sqlite", diesel(sqlite_type(name = "Text")))]
pub struct UtcTimestamp;

/// Timestamps compare chronologically on both backends (`min`, `<`, `ORDER BY`): as
/// `timestamptz` on PostgreSQL, and on SQLite because the text is always written in UTC
/// in one fixed-width-prefix format (`%F %T%.f+00:00`), which sorts like the instants.
impl diesel::sql_types::SqlOrd for UtcTimestamp {}

/// A [`UtcTimestamp`] value as diesel binds and reads it. Rows keep plain
/// `DateTime<Utc>` fields (converted with `serialize_as`/`deserialize_as`); queries wrap a
/// timestamp they compare or insert: `accounts::created_at.eq(StoredTimestamp(at))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = UtcTimestamp)]
pub struct StoredTimestamp(pub DateTime<Utc>);

impl StoredTimestamp {
    /// The current instant, cut to microseconds: the finest both backends keep, so the
    /// value read back is the one written.
    pub fn now() -> Self {
        Self(Utc::now().trunc_subsecs(6))
    }
}

impl From<DateTime<Utc>> for StoredTimestamp {
    fn from(instant: DateTime<Utc>) -> Self {
        Self(instant)
    }
}

impl From<StoredTimestamp> for DateTime<Utc> {
    fn from(stored: StoredTimestamp) -> Self {
        stored.0
    }
}

/// Implements [`StoredTimestamp`]'s conversions on `$backend` (behind `$feature`) by
/// handing over to diesel's own `$timestamptz` type of that backend.
macro_rules! timestamptz_of {
    ($feature:literal, $backend:ty, $timestamptz:ty) => {
        #[cfg(feature = $feature)]
        impl diesel::deserialize::FromSql<UtcTimestamp, $backend> for StoredTimestamp {
            fn from_sql(
                value: <$backend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                <DateTime<Utc> as diesel::deserialize::FromSql<$timestamptz, $backend>>::from_sql(
                    value,
                )
                .map(Self)
            }
        }

        #[cfg(feature = $feature)]
        impl diesel::serialize::ToSql<UtcTimestamp, $backend> for StoredTimestamp {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $backend>,
            ) -> diesel::serialize::Result {
                <DateTime<Utc> as diesel::serialize::ToSql<$timestamptz, $backend>>::to_sql(
                    &self.0, out,
                )
            }
        }
    };
}

timestamptz_of!("postgres", diesel::pg::Pg, diesel::sql_types::Timestamptz);
timestamptz_of!(
    "sqlite",
    diesel::sqlite::Sqlite,
    diesel::sql_types::TimestamptzSqlite
);
