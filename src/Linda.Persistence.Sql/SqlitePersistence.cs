using System.Data.Common;
using System.Runtime.CompilerServices;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace Linda.Persistence;

/// <summary>
/// Linda's default store: Akka.Persistence.Sql on one SQLite file in WAL mode with
/// <c>synchronous=FULL</c>, so every acknowledged write survives a crash of the process and of the
/// machine. Linda creates the tables itself: the journal without the two secondary indexes
/// Akka.Persistence.Sql would add (on <c>created</c> and <c>sequence_number</c>), which only
/// persistence queries use and which cost every insert.
/// </summary>
public static class SqlitePersistence
{
    /// <summary>The linq2db provider name of Microsoft.Data.Sqlite.</summary>
    public const string ProviderName = "SQLite.MS";

    private const string JournalPluginId = "akka.persistence.journal.sql";
    private const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    /// <summary>The connection string for the database file at <paramref name="path"/>.</summary>
    public static string ConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();

    /// <summary>
    /// Creates the database file and its tables if they are missing, switches it to WAL mode, and checks
    /// that a new connection runs with <c>synchronous=FULL</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file can't be put in WAL mode or full sync.</exception>
    public static void EnsureDatabase(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
            Directory.CreateDirectory(folder);
        using var connection = new SqliteConnection(ConnectionString(path));
        connection.Open();
        SyncInterceptor.Configure(connection);
        var mode = Scalar(connection, "PRAGMA journal_mode=WAL;");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite file {path} could not be put in WAL mode (it is in '{mode}')");
        var sync = Scalar(connection, "PRAGMA synchronous;");
        if (sync != "2")
            throw new InvalidOperationException($"SQLite file {path} runs with synchronous={sync}, not FULL (2)");
        using var create = connection.CreateCommand();
        create.CommandText = Schema;
        create.ExecuteNonQuery();
    }

    /// <summary>
    /// HOCON that makes Akka.Persistence.Sql on the SQLite file at <paramref name="path"/> the default
    /// journal and snapshot store, with the settings measured fastest here (one connection per write,
    /// round trips of up to 100 rows). Falls back to Akka.Persistence.Sql's defaults.
    /// </summary>
    public static Config Config(string path)
    {
        var cs = ConnectionString(path).Replace("\"", "\\\"");
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  connection-string = "{{cs}}"
                  provider-name = "{{ProviderName}}"
                  auto-initialize = off
                  use-clone-connection = false
                  db-round-trip-max-batch-size = 100
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                sql {
                  connection-string = "{{cs}}"
                  provider-name = "{{ProviderName}}"
                  auto-initialize = off
                  use-clone-connection = false
                }
              }
            }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>
    /// The linq2db options for the journal and snapshot store: the same connection string, with every
    /// connection set to <c>synchronous=FULL</c> as it opens (Microsoft.Data.Sqlite's connection string
    /// can't carry pragmas).
    /// </summary>
    public static MultiDataOptionsSetup DataOptions(string path)
    {
        var options = new DataOptions()
            .UseConnectionString(ProviderName, ConnectionString(path))
            .UseInterceptor(new SyncInterceptor());
        var setup = new MultiDataOptionsSetup();
        setup.AddDataOptions(JournalPluginId, options);
        setup.AddDataOptions(SnapshotPluginId, options);
        return setup;
    }

    /// <summary>
    /// Everything an ActorSystem needs to keep Linda's queues in the SQLite file at
    /// <paramref name="path"/>: creates the file, and returns a setup with <paramref name="config"/>
    /// over the SQLite persistence config and Linda's reference config.
    /// </summary>
    public static ActorSystemSetup Setup(string path, Config? config = null)
    {
        EnsureDatabase(path);
        var all = (config ?? Akka.Configuration.Config.Empty)
            .WithFallback(Config(path))
            .WithFallback(LindaSettings.DefaultConfig);
        return ActorSystemSetup.Create(Akka.Actor.BootstrapSetup.Create().WithConfig(all), DataOptions(path));
    }

    private static string? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS [journal]
        (
            [ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
            [created]         INTEGER        NOT NULL,
            [deleted]         Bit            NOT NULL,
            [persistence_id]  NVarChar(255)  NOT NULL,
            [sequence_number] INTEGER        NOT NULL,
            [message]         VarBinary      NOT NULL,
            [manifest]        NVarChar(500)      NULL,
            [identifier]      INTEGER            NULL,
            [writer_uuid]     NVarChar(128)      NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
        CREATE TABLE IF NOT EXISTS [tags]
        (
            [ordering_id]    INTEGER       NOT NULL,
            [tag]            NVarChar(64)  NOT NULL,
            [sequence_nr]    INTEGER       NOT NULL,
            [persistence_id] NVarChar(255) NOT NULL,
            CONSTRAINT [PK_tags] PRIMARY KEY ([ordering_id], [tag])
        );
        CREATE TABLE IF NOT EXISTS [snapshot]
        (
            [persistence_id]  NVarChar(255) NOT NULL,
            [sequence_number] INTEGER       NOT NULL,
            [created]         INTEGER       NOT NULL,
            [snapshot]        VarBinary         NULL,
            [manifest]        NVarChar(500)     NULL,
            [serializer_id]   INTEGER           NULL,
            CONSTRAINT [PK_snapshot] PRIMARY KEY ([persistence_id], [sequence_number])
        );
        """;

    /// <summary>
    /// Sets the pragmas that can't go in the connection string on every connection as it opens: once per
    /// SQLite connection, which keeps them while Microsoft.Data.Sqlite's pool hands it out again and
    /// again (one statement less on every journal write).
    /// </summary>
    private sealed class SyncInterceptor : ConnectionInterceptor
    {
        // busy_timeout: a writer that finds the database locked (a snapshot or a delete in progress)
        // waits inside SQLite in short steps, instead of Microsoft.Data.Sqlite's 150 ms sleeps.
        private const string Pragmas = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;";

        // The SQLite connections (their native handles, pooled) that have the pragmas.
        private static readonly ConditionalWeakTable<object, object> Configured = new();

        public static void Configure(DbConnection connection)
        {
            if (IsConfigured(connection, out var handle))
                return;
            using var command = connection.CreateCommand();
            command.CommandText = Pragmas;
            command.ExecuteNonQuery();
            Mark(handle);
        }

        public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection) => Configure(connection);

        public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
        {
            if (IsConfigured(connection, out var handle))
                return;
            await using var command = connection.CreateCommand();
            command.CommandText = Pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            Mark(handle);
        }

        private static bool IsConfigured(DbConnection connection, out object? handle)
        {
            handle = (connection as SqliteConnection)?.Handle;
            return handle is not null && Configured.TryGetValue(handle, out _);
        }

        private static void Mark(object? handle)
        {
            if (handle is not null)
                Configured.AddOrUpdate(handle, handle);
        }
    }
}
