using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using Linda.Persistence;
using LinqToDB;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;
using Linda.Tests.Infrastructure;
using Npgsql;

namespace Linda.Benchmarks;

/// <summary>Command-line options: <c>MODE [N] [--key=value ...]</c>.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _named = new(StringComparer.OrdinalIgnoreCase);

    public Options(string[] args)
    {
        var positional = new List<string>();
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = a.IndexOf('=');
                if (eq < 0)
                    _named[a[2..]] = "true";
                else
                    _named[a[2..eq]] = a[(eq + 1)..];
            }
            else
            {
                positional.Add(a);
            }
        }
        Mode = positional.Count > 0 ? positional[0] : "";
        N = positional.Count > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : null;
        Rest = positional.Skip(2).ToArray();
        Raw = args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToArray();
    }

    public string Mode { get; }
    public int? N { get; }
    public string[] Rest { get; }

    /// <summary>The <c>--key=value</c> arguments as given, to pass on to a child process.</summary>
    public string[] Raw { get; }

    public int Int(string key, int fallback) =>
        _named.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string key, double fallback) =>
        _named.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public string Str(string key, string fallback) => _named.TryGetValue(key, out var v) ? v : fallback;

    /// <summary>
    /// Extra HOCON over Linda's SQLite defaults: <c>--config=TEXT</c>, <c>--config=@FILE</c>, or the
    /// environment variable <c>LINDA_BENCH_CONFIG</c>.
    /// </summary>
    public string ExtraConfig
    {
        get
        {
            var text = Str("config", Environment.GetEnvironmentVariable("LINDA_BENCH_CONFIG") ?? "");
            return text.StartsWith('@') ? File.ReadAllText(text[1..]) : text;
        }
    }
}

/// <summary>
/// One benchmark environment: a fresh temporary folder with one SQLite file (WAL, synchronous=FULL,
/// as <see cref="SqlitePersistence"/> sets it), and an ActorSystem on it. Disposing stops the system
/// and deletes the folder.
/// </summary>
internal sealed class Bench : IAsyncDisposable
{
    /// <summary>What every run sets: quiet logging (the RESULT line is the output), nothing about performance.</summary>
    private const string BaseConfig = """
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        """;

    private readonly Config _config;

    private readonly int _busyTimeoutMs;
    private readonly double _traceSqlMs;

    private readonly string? _postgres;

    private Bench(string folder, Config config, int busyTimeoutMs, double traceSqlMs, string? postgres = null)
    {
        _postgres = postgres;
        Folder = folder;
        DbPath = Path.Combine(folder, "linda.db");
        _config = config;
        _busyTimeoutMs = busyTimeoutMs;
        _traceSqlMs = traceSqlMs;
    }

    public string Folder { get; }
    public string DbPath { get; }

    /// <summary>The PostgreSQL connection string of this bench's database, or null on SQLite.</summary>
    public string? Postgres => _postgres;

    /// <summary>"sqlite" or "postgres", for the RESULT lines.</summary>
    public string Store => _postgres is null ? "sqlite" : "postgres";

    public ActorSystem? System { get; private set; }
    public ActorSystem Sys => System ?? throw new InvalidOperationException("the system is not running");
    public LindaSettings Settings { get; private set; } = new();

    /// <summary>The HOCON the runs use (extra config over the base config).</summary>
    public static Config MakeConfig(Options o)
    {
        var extra = o.ExtraConfig;
        var config = ConfigurationFactory.ParseString(BaseConfig);
        return string.IsNullOrWhiteSpace(extra) ? config : ConfigurationFactory.ParseString(extra).WithFallback(config);
    }

    /// <summary>
    /// A fresh bench: a new SQLite file in a new folder, or with <c>--postgres</c> a new database:
    /// <c>--postgres=auto</c> on a PostgreSQL server this process starts once (fsync on, as a
    /// production server runs), <c>--postgres=CONNECTION_STRING</c> on that server (its user must be
    /// allowed to create databases).
    /// </summary>
    public static async Task<Bench> CreateAsync(Options o)
    {
        var folder = Directory.CreateTempSubdirectory("linda-bench-").FullName;
        var postgres = o.Str("postgres", "");
        string? database = postgres.Length == 0 ? null : await Databases.CreateAsync(postgres);
        var bench = new Bench(folder, MakeConfig(o), o.Int("busy-timeout", 0), o.Double("trace-sql", 0), database);
        bench.Start();
        return bench;
    }

    /// <summary>Starts an ActorSystem on the database (a new one after <see cref="StopAsync"/>).</summary>
    public ActorSystem Start()
    {
        if (System is not null)
            throw new InvalidOperationException("already running");
        System = _postgres is not null
            ? ActorSystem.Create("bench", _config.WithFallback(SqlPersistenceConfig.For(_postgres, "PostgreSQL.15")).WithFallback(LindaSettings.DefaultConfig))
            : ActorSystem.Create("bench", _busyTimeoutMs > 0 || _traceSqlMs > 0
            ? DiagnosticSetup(DbPath, _config, _busyTimeoutMs, _traceSqlMs)
            : SqlitePersistence.Setup(DbPath, _config));
        Settings = LindaSettings.Create(System);
        return System;
    }

    /// <summary>A connection to the bench's database, read only on SQLite.</summary>
    public DbConnection OpenDatabase()
    {
        DbConnection c = _postgres is not null
            ? new NpgsqlConnection(_postgres)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    /// <summary>
    /// DIAGNOSTIC ONLY: the same setup as <see cref="SqlitePersistence.Setup"/>, plus, with
    /// <c>--busy-timeout=MS</c>, <c>PRAGMA busy_timeout</c> on every connection (a writer that finds the
    /// database locked then waits inside SQLite, in sleeps of 1, 2, 5, 10... ms, instead of
    /// Microsoft.Data.Sqlite's retry loop, which sleeps 150 ms per SQLITE_BUSY), and with
    /// <c>--trace-sql=MS</c> a timer on every SQL command (statements slower than MS are printed).
    /// </summary>
    public static ActorSystemSetup DiagnosticSetup(string path, Config config, int busyTimeoutMs, double traceSqlMs)
    {
        SqlitePersistence.EnsureDatabase(path);
        var all = config.WithFallback(SqlitePersistence.Config(path)).WithFallback(LindaSettings.DefaultConfig);
        var pragmas = "PRAGMA synchronous=FULL;" + (busyTimeoutMs > 0 ? $" PRAGMA busy_timeout={busyTimeoutMs};" : "");
        var options = new DataOptions()
            .UseConnectionString(SqlitePersistence.ProviderName, SqlitePersistence.ConnectionString(path))
            .UseInterceptor(new PragmaInterceptor(pragmas));
        if (traceSqlMs > 0)
            options = options.UseInterceptor(SqlTimer.Instance.WithThreshold(traceSqlMs));
        var setup = new MultiDataOptionsSetup();
        setup.AddDataOptions("akka.persistence.journal.sql", options);
        setup.AddDataOptions("akka.persistence.snapshot-store.sql", options);
        return ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(all), setup);
    }

    private sealed class PragmaInterceptor(string pragmas) : ConnectionInterceptor
    {
        public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public async Task StopAsync()
    {
        if (System is null)
            return;
        await System.Terminate();
        System = null;
        SqliteConnection.ClearAllPools();
    }

    /// <summary>A new queue actor (under its supervisor) named <paramref name="name"/>, not waited for.</summary>
    public IActorRef Queue(string name) => Sys.ActorOf(JobQueueActor.Props(name, Settings), "queue-" + name);

    /// <summary>A new queue actor that has recovered (answered <c>GetStats</c>), so its start is not timed.</summary>
    public async Task<IActorRef> StartedQueue(string name)
    {
        var q = Queue(name);
        await q.Ask<JobQueue.QueueStats>(JobQueue.GetStats.Instance, TimeSpan.FromSeconds(60));
        return q;
    }

    /// <summary>Sizes of the database file and its WAL, in bytes.</summary>
    public (long Db, long Wal) FileSizes()
    {
        static long Size(string p) => File.Exists(p) ? new FileInfo(p).Length : 0;
        return (Size(DbPath), Size(DbPath + "-wal"));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"# could not delete {Folder}: {e.Message}");
        }
    }
}

internal static class Stat
{
    public static readonly double TicksPerUs = Stopwatch.Frequency / 1e6;

    public static double Us(long ticks) => ticks / TicksPerUs;

    public static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    /// <summary>The value at rank floor(p/100 * n) of the sorted values (the anchor client's rule).</summary>
    public static double Pct(double[] a, double p)
    {
        var s = (double[])a.Clone();
        Array.Sort(s);
        var i = (int)Math.Min(s.Length - 1, Math.Floor(p / 100.0 * s.Length));
        return s[i];
    }

    public static string F(double v, int decimals) => v.ToString("F" + decimals, CultureInfo.InvariantCulture);

    public static double Mb(long bytes) => bytes / (1024.0 * 1024.0);

    /// <summary>Waits for <paramref name="task"/> or fails after <paramref name="timeout"/>, naming what hung.</summary>
    public static async Task<T> Within<T>(Task<T> task, TimeSpan timeout, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(timeout)) != task)
            throw new TimeoutException($"{what} did not finish within {timeout.TotalSeconds:0} s");
        return await task;
    }
}

/// <summary>Process CPU time, allocations and GC activity over a measured section.</summary>
internal sealed class Usage
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: true);
    private readonly TimeSpan _gcPause = GC.GetTotalPauseDuration();
    private readonly int _gen0 = GC.CollectionCount(0);
    private readonly int _gen2 = GC.CollectionCount(2);

    /// <summary>
    /// <c>measured_s</c>, <c>cpu_pct</c> (of all cores), <c>cpu_us_per_job</c> and
    /// <c>alloc_bytes_per_job</c> (the whole process over <paramref name="jobs"/> jobs: queue, journal,
    /// producers and consumers), <c>gc0</c>/<c>gc2</c> collections and <c>gc_pause_ms</c> since this was made.
    /// </summary>
    public string Figures(long jobs)
    {
        var wall = Stat.Seconds(_start, Stopwatch.GetTimestamp());
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
        return $"measured_s={Stat.F(wall, 2)} cpu_pct={Stat.F(100 * cpu / wall / Environment.ProcessorCount, 0)} " +
               $"cpu_us_per_job={Stat.F(cpu * 1e6 / Math.Max(1, jobs), 1)} alloc_bytes_per_job={Stat.F(allocated / (double)Math.Max(1, jobs), 0)} " +
               $"gc0={GC.CollectionCount(0) - _gen0} gc2={GC.CollectionCount(2) - _gen2} " +
               $"gc_pause_ms={Stat.F((GC.GetTotalPauseDuration() - _gcPause).TotalMilliseconds, 0)}";
    }
}

/// <summary>The benchmark's PostgreSQL databases: a new database per bench.</summary>
internal static class Databases
{
    private static PostgresServer? _server;
    private static readonly SemaphoreSlim Lock = new(1, 1);

    /// <summary>A new database: on a server started once (<c>auto</c>), or on the server of a connection string.</summary>
    public static async Task<string> CreateAsync(string postgres)
    {
        if (postgres != "auto")
        {
            var given = new NpgsqlConnectionStringBuilder(postgres);
            var name = "linda_bench_" + Guid.NewGuid().ToString("N")[..12];
            await using var c = new NpgsqlConnection(given.ConnectionString);
            await c.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await create.ExecuteNonQueryAsync();
            given.Database = name;
            return given.ConnectionString;
        }
        await Lock.WaitAsync();
        try
        {
            if (_server is null)
            {
                // fsync and synchronous_commit on, as a production server runs: a write is on the disk when acknowledged.
                _server = await PostgresServer.StartAsync(durable: true);
                Console.Error.WriteLine($"# PostgreSQL started on port {_server.Port} (fsync on)");
            }
        }
        finally
        {
            Lock.Release();
        }
        return await _server.CreateDatabaseAsync();
    }

    /// <summary>Stops the server started for <c>auto</c>, if any.</summary>
    public static async Task StopAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
        _server = null;
    }
}

/// <summary>DIAGNOSTIC ONLY (<c>--trace-sql=MS</c>): times every SQL command linq2db runs for the journal and snapshot store.</summary>
internal sealed class SqlTimer : CommandInterceptor
{
    public static readonly SqlTimer Instance = new();
    private readonly object _lock = new();
    private readonly Dictionary<string, (long Count, double TotalMs, double MaxMs)> _byKind = new();
    private double _thresholdMs = double.MaxValue;

    public SqlTimer WithThreshold(double ms)
    {
        _thresholdMs = ms;
        return this;
    }

    private static string Kind(string sql)
    {
        var s = sql.TrimStart();
        var words = s.Split((char[])[' ', '\n', '\r', '\t'], 4, StringSplitOptions.RemoveEmptyEntries);
        var table = s.Contains("[snapshot]", StringComparison.OrdinalIgnoreCase) || s.Contains(" snapshot", StringComparison.OrdinalIgnoreCase) ? "snapshot" : "journal";
        return (words.Length > 0 ? words[0].ToUpperInvariant() : "?") + " " + table;
    }

    private void Record(DbCommand command, long start)
    {
        var ms = (Stopwatch.GetTimestamp() - start) * 1000.0 / Stopwatch.Frequency;
        var kind = Kind(command.CommandText);
        lock (_lock)
        {
            var (count, total, max) = _byKind.GetValueOrDefault(kind);
            _byKind[kind] = (count + 1, total + ms, Math.Max(max, ms));
        }
        if (ms >= _thresholdMs)
            Console.Error.WriteLine($"# slow sql {ms:F1} ms at {DateTime.UtcNow:HH:mm:ss.fff}: {command.CommandText.ReplaceLineEndings(" ")[..Math.Min(90, command.CommandText.Length)]}");
    }

    public override async Task<LinqToDB.Common.Option<int>> ExecuteNonQueryAsync(CommandEventData eventData, DbCommand command, LinqToDB.Common.Option<int> result, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var n = await command.ExecuteNonQueryAsync(cancellationToken);
        Record(command, start);
        return LinqToDB.Common.Option<int>.Some(n);
    }

    public override LinqToDB.Common.Option<int> ExecuteNonQuery(CommandEventData eventData, DbCommand command, LinqToDB.Common.Option<int> result)
    {
        var start = Stopwatch.GetTimestamp();
        var n = command.ExecuteNonQuery();
        Record(command, start);
        return LinqToDB.Common.Option<int>.Some(n);
    }

    public override async Task<LinqToDB.Common.Option<DbDataReader>> ExecuteReaderAsync(CommandEventData eventData, DbCommand command, System.Data.CommandBehavior commandBehavior, LinqToDB.Common.Option<DbDataReader> result, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var reader = await command.ExecuteReaderAsync(commandBehavior, cancellationToken);
        Record(command, start);
        return LinqToDB.Common.Option<DbDataReader>.Some(reader);
    }

    public override async Task<LinqToDB.Common.Option<object?>> ExecuteScalarAsync(CommandEventData eventData, DbCommand command, LinqToDB.Common.Option<object?> result, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var value = await command.ExecuteScalarAsync(cancellationToken);
        Record(command, start);
        return LinqToDB.Common.Option<object?>.Some(value);
    }

    /// <summary>Per statement kind: count, total and longest time; then clears.</summary>
    public string Summary()
    {
        lock (_lock)
        {
            var text = string.Join("; ", _byKind.OrderByDescending(kv => kv.Value.TotalMs)
                .Select(kv => $"{kv.Key}: {kv.Value.Count} x, {kv.Value.TotalMs:F0} ms total, max {kv.Value.MaxMs:F1} ms"));
            _byKind.Clear();
            return text;
        }
    }
}
