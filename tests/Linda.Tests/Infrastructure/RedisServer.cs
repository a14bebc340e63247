using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using StackExchange.Redis;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A real, throw-away Redis (Debian's <c>redis-server</c>) on a free loopback port; killed on dispose.
/// Without a data folder it keeps nothing on disk; with one it keeps every acknowledged write in an
/// append-only file (<c>appendfsync always</c>), so <see cref="RestartAsync"/> (a graceful stop, then a
/// start on the same port and folder) brings the data back. Not installed: the spec fails saying so,
/// never skipped.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    // How many free ports are tried before giving up (another program may take one first).
    private const int StartAttempts = 3;

    // How long a start may take before it counts as failed (a loaded CI machine, an AOF to load).
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);

    // How long the spec's own connection waits for a connect while the server starts.
    private const int ProbeConnectTimeoutMs = 1000;

    // A probe's pace while the server starts.
    private static readonly TimeSpan ProbePause = TimeSpan.FromMilliseconds(50);

    // SIGTERM: redis-server shuts down as on SHUTDOWN (fsyncs the AOF, closes its clients).
    private const int SigTerm = 15;

    private readonly string _executable;
    private readonly string? _dataFolder;
    private Process _process;
    private OutputLog _output;

    private RedisServer(string executable, string? dataFolder, int port, Process process, OutputLog output, ConnectionMultiplexer client)
    {
        _executable = executable;
        _dataFolder = dataFolder;
        _process = process;
        _output = output;
        Port = port;
        Client = client;
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The URL in the Go Linda's form.</summary>
    public string Url => $"redis://127.0.0.1:{Port}/";

    /// <summary>A connection for the spec's own reads and writes (it reconnects by itself after a restart).</summary>
    public ConnectionMultiplexer Client { get; }

    public IDatabase Db => Client.GetDatabase();

    /// <summary>What the server printed, for failure messages.</summary>
    public string Output => _output.ToString();

    /// <summary>
    /// Starts a server on a free port. With <paramref name="dataFolder"/> it persists to an append-only
    /// file there, fsynced before each write is acknowledged; without, it keeps nothing.
    /// </summary>
    public static async Task<RedisServer> StartAsync(string? dataFolder = null)
    {
        var executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: apt-get install redis-server (.ci/run does)");
        if (dataFolder is not null)
            Directory.CreateDirectory(dataFolder);
        for (var attempt = 1; ; attempt++)
        {
            var port = TestPrograms.FreePort();
            var (process, output) = Launch(executable, port, dataFolder);
            if (await ConnectAsync(port, process) is { } client)
                return new RedisServer(executable, dataFolder, port, process, output, client);
            await StopProcessAsync(process);
            if (attempt >= StartAttempts)
                throw new InvalidOperationException($"redis-server did not start on port {port}: {output}");
        }
    }

    /// <summary>Stops the server gracefully (SIGTERM: it fsyncs and closes every connection) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
            return;
        if (Kill(_process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        using var bounded = new CancellationTokenSource(StartBound);
        await _process.WaitForExitAsync(bounded.Token);
    }

    /// <summary>Starts the server again on the same port and data folder, after <see cref="StopAsync"/>; returns once it answers.</summary>
    public async Task StartAgainAsync()
    {
        if (!_process.HasExited)
            throw new InvalidOperationException("redis-server still runs: stop it first");
        _process.Dispose();
        (_process, _output) = Launch(_executable, Port, _dataFolder);
        if (await ConnectAsync(Port, _process) is not { } probe)
            throw new InvalidOperationException($"redis-server did not start again on port {Port}: {_output}");
        await probe.DisposeAsync();
    }

    /// <summary><see cref="StopAsync"/>, then <see cref="StartAgainAsync"/>.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAgainAsync();
    }

    private static (Process, OutputLog) Launch(string executable, int port, string? dataFolder)
    {
        string[] persistence = dataFolder is null
            ? ["--save", "", "--appendonly", "no"]
            : ["--dir", dataFolder, "--save", "", "--appendonly", "yes", "--appendfsync", "always"];
        var start = new ProcessStartInfo(executable, ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            .. persistence, "--daemonize", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var output = new OutputLog();
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    /// <summary>A connection once the server on <paramref name="port"/> answers PING (its AOF loaded), or null if it exited or took too long.</summary>
    private static async Task<ConnectionMultiplexer?> ConnectAsync(int port, Process process)
    {
        var deadline = DateTime.UtcNow + StartBound;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                var client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},connectTimeout={ProbeConnectTimeoutMs},abortConnect=true");
                try
                {
                    await client.GetDatabase().PingAsync();
                    return client;
                }
                catch (RedisException)
                {
                    await client.DisposeAsync(); // LOADING: the server is reading its AOF
                    throw;
                }
            }
            catch (RedisException)
            {
                await Task.Delay(ProbePause);
            }
        }
        return null;
    }

    private static async Task StopProcessAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await StopProcessAsync(_process);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The server's output lines, kept for a failure message.</summary>
    private sealed class OutputLog
    {
        private readonly System.Text.StringBuilder _lines = new();

        public void Add(string? line)
        {
            lock (_lines)
                _lines.AppendLine(line);
        }

        public override string ToString()
        {
            lock (_lines)
                return _lines.ToString();
        }
    }
}
