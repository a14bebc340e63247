using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Linda.Persistence;

/// <summary>HOCON for Akka.Persistence.Sql on any database linq2db knows (PostgreSQL, SQL Server, ...).</summary>
public static class SqlPersistenceConfig
{
    /// <summary>
    /// Makes Akka.Persistence.Sql with <paramref name="connectionString"/> and the linq2db
    /// <paramref name="providerName"/> (e.g. <c>PostgreSQL.15</c>) the default journal and snapshot
    /// store; the tables are created automatically. Falls back to Akka.Persistence.Sql's defaults.
    /// </summary>
    public static Config For(string connectionString, string providerName)
    {
        var cs = Quote(connectionString);
        var provider = Quote(providerName);
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql { connection-string = "{{cs}}", provider-name = "{{provider}}", auto-initialize = on }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql { connection-string = "{{cs}}", provider-name = "{{provider}}", auto-initialize = on }
              }
            }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string Quote(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
