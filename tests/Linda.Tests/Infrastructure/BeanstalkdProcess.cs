using System.Diagnostics;
using System.Net.Sockets;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// The real beanstalkd (the machine's <c>beanstalkd</c>, 1.12 on Debian) on a free loopback port, for
/// specs that hold Linda's server up against it. Killed on dispose. If beanstalkd is not installed the
/// spec fails saying so: it is never skipped silently.
/// </summary>
public sealed class BeanstalkdProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringWriter _stderr;

    private readonly TempFolder? _binlog;

    private BeanstalkdProcess(Process process, StringWriter stderr, int port, TempFolder? binlog)
    {
        _binlog = binlog;
        _process = process;
        _stderr = stderr;
        Port = port;
    }

    /// <summary>The port clients connect to on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>
    /// Starts beanstalkd and waits until its port accepts; <paramref name="maxJobSize"/> is its <c>-z</c>;
    /// <paramref name="binlog"/> keeps its binlog (<c>-b</c>, in a folder of its own, deleted on dispose)
    /// with beanstalkd's default fsync policy (at most every 50 ms).
    /// </summary>
    public static async Task<BeanstalkdProcess> StartAsync(int? maxJobSize = null, bool binlog = false)
    {
        var executable = Find()
            ?? throw new InvalidOperationException("beanstalkd is not installed (no /usr/bin/beanstalkd, none on PATH): apt-get install beanstalkd (.ci/run does)");
        // The port is free when the OS gives it, but another process may take it before beanstalkd binds
        // it: then beanstalkd exits at once, and another port is tried.
        for (var attempt = 1; ; attempt++)
        {
            var port = TestPrograms.FreePort();
            var server = Start(executable, port, maxJobSize, binlog ? new TempFolder("beanstalkd-binlog") : null);
            if (await server.AcceptsAsync())
                return server;
            var exitCode = server._process.ExitCode;
            await server.DisposeAsync();
            if (attempt == 3)
                throw new InvalidOperationException($"beanstalkd exited with code {exitCode} at start on port {port}: {server._stderr}");
        }
    }

    private static string? Find()
    {
        if (File.Exists("/usr/bin/beanstalkd"))
            return "/usr/bin/beanstalkd";
        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "beanstalkd"))
            .FirstOrDefault(File.Exists);
    }

    private static BeanstalkdProcess Start(string executable, int port, int? maxJobSize, TempFolder? binlog)
    {
        var start = new ProcessStartInfo(executable, ["-l", "127.0.0.1", "-p", port.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (maxJobSize is { } size)
        {
            start.ArgumentList.Add("-z");
            start.ArgumentList.Add(size.ToString());
        }
        if (binlog is not null)
        {
            start.ArgumentList.Add("-b");
            start.ArgumentList.Add(binlog.Path);
        }
        var stderr = new StringWriter();
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (stderr)
                    stderr.WriteLine(e.Data);
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return new BeanstalkdProcess(process, stderr, port, binlog);
    }

    /// <summary>True once the port accepts a connection; false if beanstalkd exited first.</summary>
    private async Task<bool> AcceptsAsync()
    {
        var accepts = false;
        await Conditions.Until(async () =>
        {
            if (_process.HasExited)
                return true;
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", Port);
                accepts = true;
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, $"beanstalkd to accept connections on port {Port}", detail: () => _stderr.ToString());
        return accepts;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _binlog?.Dispose();
    }
}
