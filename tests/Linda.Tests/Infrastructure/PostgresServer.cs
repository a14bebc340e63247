using System.Diagnostics;
using Npgsql;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server for the specs: <c>initdb</c> and <c>pg_ctl</c> from the machine's
/// PostgreSQL binaries, a data folder under /tmp, a free loopback port, trust authentication; torn
/// down on dispose. Run as the <c>postgres</c> user when the tests run as root (postgres refuses root).
/// If the server can't start, the fixture fails with the reason: the specs are never skipped silently.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _data;
    private readonly bool _asPostgres;

    private PostgresServer(string bin, string data, int port, bool asPostgres)
    {
        _bin = bin;
        _data = data;
        Port = port;
        _asPostgres = asPostgres;
    }

    public int Port { get; }

    /// <summary>The server's main process (the postmaster), parent of every other process of the server; read from its pid file.</summary>
    public int ServerProcessId =>
        int.Parse(File.ReadLines(Path.Combine(_data, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Pooling = true }.ToString();

    /// <summary>
    /// Starts a server. For the specs it runs without fsync (a crash of the machine is not what they
    /// test); <paramref name="durable"/> keeps fsync and synchronous commits on, as a production server
    /// runs, for the benchmarks.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => d).LastOrDefault()
            : null;
        if (bin is null)
            throw new InvalidOperationException("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: install the 'postgresql' package (.ci/run does)");
        var asPostgres = Environment.UserName == "root";
        var data = Path.Combine("/tmp", $"linda-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        if (asPostgres)
            await RunAsync("chown", ["postgres:postgres", data], asPostgres: false, workdir: "/tmp");
        var server = new PostgresServer(bin, data, TestPrograms.FreePort(), asPostgres);
        await server.RunBinAsync("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        var options = $"-c listen_addresses=127.0.0.1 -p {server.Port} -k /tmp -c max_connections=200"
                      + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        await server.RunBinAsync("pg_ctl", ["-D", data, "-l", Path.Combine(data, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
        return server;
    }

    /// <summary>A new, empty database on the server.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "linda_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunBinAsync("pg_ctl", ["-D", _data, "-m", "immediate", "-w", "stop"]);
        }
        finally
        {
            try { Directory.Delete(_data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private Task RunBinAsync(string tool, string[] args) => RunAsync(Path.Combine(_bin, tool), args, _asPostgres, "/tmp");

    private static async Task RunAsync(string file, string[] args, bool asPostgres, string workdir)
    {
        var start = asPostgres
            ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", file, .. args])
            : new ProcessStartInfo(file, args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = workdir; // the postgres user must be able to read it
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"PostgreSQL could not start: {Path.GetFileName(file)} {string.Join(" ", args)} exited with {process.ExitCode}: {await stderr}{await stdout}");
    }
}
