using System.Diagnostics;
using StackExchange.Redis;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A real, throw-away Redis (Debian's <c>redis-server</c>) on a free loopback port, without
/// persistence; killed on dispose. Not installed: the spec fails saying so, never skipped.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port, ConnectionMultiplexer client)
    {
        _process = process;
        Port = port;
        Client = client;
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The URL in the Go Linda's form.</summary>
    public string Url => $"redis://127.0.0.1:{Port}/";

    /// <summary>A connection for the spec's own reads and writes.</summary>
    public ConnectionMultiplexer Client { get; }

    public IDatabase Db => Client.GetDatabase();

    public static async Task<RedisServer> StartAsync()
    {
        var executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: apt-get install redis-server (.ci/run does)");
        for (var attempt = 1; ; attempt++)
        {
            var port = TestPrograms.FreePort();
            var start = new ProcessStartInfo(executable, ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var process = Process.Start(start)!;
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    var client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},connectTimeout=1000,abortConnect=true");
                    await client.GetDatabase().PingAsync();
                    return new RedisServer(process, port, client);
                }
                catch (RedisConnectionException)
                {
                    await Task.Delay(50); // a probe's pace while the server starts
                }
            }
            if (!process.HasExited)
                process.Kill();
            if (attempt >= 3)
                throw new InvalidOperationException($"redis-server did not start on port {port}: {output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
