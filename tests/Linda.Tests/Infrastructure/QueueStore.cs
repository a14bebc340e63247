using Akka.Actor.Setup;
using Akka.Configuration;
using Linda.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace Linda.Tests.Infrastructure;

/// <summary>A real database the persistence specs run on: the same specs, once per store.</summary>
public interface IQueueStore
{
    /// <summary>An ActorSystem setup whose journal and snapshot store are this database.</summary>
    ActorSystemSetup Setup(Config config);

    /// <summary>Rows in the journal or the snapshot table.</summary>
    long Rows(StoreTable table);
}

public enum StoreTable
{
    Journal,
    Snapshot,
}

/// <summary>A SQLite file (WAL, synchronous=FULL), Linda's default.</summary>
public sealed class SqliteStore(string path) : IQueueStore
{
    public ActorSystemSetup Setup(Config config) => SqlitePersistence.Setup(path, config);

    public long Rows(StoreTable table)
    {
        using var c = new SqliteConnection(SqlitePersistence.ConnectionString(path));
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM {(table == StoreTable.Journal ? "journal" : "snapshot")}";
        return (long)cmd.ExecuteScalar()!;
    }
}

/// <summary>A database of its own on the PostgreSQL server the collection fixture runs.</summary>
public sealed class PostgresStore(string connectionString) : IQueueStore
{
    public const string Provider = "PostgreSQL.15";

    public ActorSystemSetup Setup(Config config) =>
        ActorSystemSetup.Create(Akka.Actor.BootstrapSetup.Create().WithConfig(
            config.WithFallback(SqlPersistenceConfig.For(connectionString, Provider)).WithFallback(LindaSettings.DefaultConfig)));

    public long Rows(StoreTable table)
    {
        using var c = new NpgsqlConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM public.{(table == StoreTable.Journal ? "journal" : "snapshot")}";
        return (long)cmd.ExecuteScalar()!;
    }
}

/// <summary>One PostgreSQL server for the database collection, started on first use and stopped after it.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("the PostgreSQL server is not running");

    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}
