using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// src/Linda.Server in an OS process of its own (run from its build folder), with the options given.
/// <see cref="Listening"/> completes when it prints <c>LISTENING port</c> (every port it was given
/// listens then); what else it prints is kept (the last lines) for failure messages. <see cref="Kill"/> is a SIGKILL.
/// Where each tube's queue runs is read from its log too (<see cref="Hosts"/>).
/// </summary>
public sealed partial class LindaServerProcess : IDisposable
{
    private const int LogLines = 400;

    // A queue actor's log lines (JobQueueActor, at Info): it started here (recovered from its journal), or stops to move to another node.
    [GeneratedRegex(@"\] queue (\S+) (recovered|stopping) at sequence number ")]
    private static partial Regex QueueLine();

    private readonly ConcurrentDictionary<string, long> _tubesHere = new(StringComparer.Ordinal); // tube -> when its queue started here (Stopwatch)

    private readonly CapturedProcess _child;
    private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _hubHere = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _dashboard;

    private LindaServerProcess(string name, int port, int? clusterPort, ProcessStartInfo start)
    {
        Name = name;
        Port = port;
        ClusterPort = clusterPort;
        _child = new CapturedProcess(start, LogLines, OnLine);
        _child.Process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"{Name} exited before it listened"));
    }

    public string Name { get; }

    /// <summary>The beanstalkd port it was told to open.</summary>
    public int Port { get; }

    /// <summary>Its Akka remoting port, when it was given one.</summary>
    public int? ClusterPort { get; }

    /// <summary>Its cluster address, to seed other servers with.</summary>
    public string Address => $"akka.tcp://linda@127.0.0.1:{ClusterPort}";

    /// <summary>The dashboard's address as it printed it (<c>dashboard: URL</c>, before <c>LISTENING</c>), when it was given --http-port.</summary>
    public string? Dashboard => _dashboard;

    public int Pid => _child.Process.Id;

    public bool HasExited => _child.Process.HasExited;

    /// <summary>Completes with the port once the server printed <c>LISTENING port</c>; fails if it exits first.</summary>
    public Task<int> Listening => _listening.Task;

    /// <summary>
    /// Completes when the log says the cluster singleton <c>/user/linda-beanstalk</c> started on this
    /// server: the tube hub (every tube's queue with it) on the singleton placement, the tube directory on the sharded one.
    /// </summary>
    public Task HubHere => _hubHere.Task;

    /// <summary>
    /// Whether <paramref name="tube"/>'s queue runs on this server, as its log says: the queue recovered
    /// here (it started: a sharded entity, or the hub's child) and has not said since that it stops (a
    /// hand-over), and the server runs.
    /// </summary>
    public bool Hosts(string tube) => _tubesHere.ContainsKey(tube) && !SafeExited();

    /// <summary>When (<see cref="Stopwatch"/> time) <paramref name="tube"/>'s queue last started here, if it runs here.</summary>
    public long? HostsSince(string tube) => _tubesHere.TryGetValue(tube, out var at) && !SafeExited() ? at : null;

    /// <summary>The tubes whose queues run on this server (see <see cref="Hosts"/>).</summary>
    public IReadOnlyCollection<string> TubesHere => SafeExited() ? [] : _tubesHere.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Runs the server with <paramref name="args"/> (a command line it should refuse) until it exits,
    /// within <paramref name="bound"/> (killed and reported otherwise): its exit code and what it printed.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(string[] args, TimeSpan bound)
    {
        using var process = Process.Start(TestPrograms.Dotnet("Linda.Server.dll", args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(bound);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Linda.Server {string.Join(" ", args)} still ran after {bound.TotalSeconds} s\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Starts a server on beanstalkd port <paramref name="port"/>; <paramref name="options"/> are the
    /// rest of its command line (--data, --postgres, --cluster-port, --seed, --profile...).
    /// </summary>
    public static LindaServerProcess Start(string name, int port, params string[] options) =>
        Start(name, port, new Dictionary<string, string>(), options);

    /// <summary>As <see cref="Start(string, int, string[])"/>, with <paramref name="environment"/> set for the server (e.g. LINDA_TLS_PASSWORD).</summary>
    public static LindaServerProcess Start(string name, int port, IReadOnlyDictionary<string, string> environment, params string[] options)
    {
        var at = Array.IndexOf(options, "--cluster-port");
        int? clusterPort = at >= 0 ? int.Parse(options[at + 1], CultureInfo.InvariantCulture) : null;
        var start = TestPrograms.Dotnet("Linda.Server.dll", ["--port", port.ToString(CultureInfo.InvariantCulture), .. options]);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        var server = new LindaServerProcess(name, port, clusterPort, start);
        server._child.Start();
        return server;
    }

    /// <summary>SIGKILL (Process.Kill is a SIGKILL on Linux): no shutdown, no flush. Returns once the process is gone and its output read.</summary>
    public void Kill()
    {
        _child.Kill();
        _child.Log($"--- killed (SIGKILL), exit code {_child.Process.ExitCode}");
    }

    /// <summary>The last lines it printed (stderr marked "! "), for a failure message.</summary>
    public string RecentLog() => $"--- {Name} (pid {SafePid()}, {(SafeExited() ? "exited" : "running")}), its last {LogLines} lines:\n" + _child.Logged;

    public void Dispose() => _child.Dispose();

    private void OnLine(string line, long at)
    {
        if (QueueLine().Match(line) is { Success: true } queue)
        {
            if (queue.Groups[2].Value == "recovered")
                _tubesHere[queue.Groups[1].Value] = at;
            else
                _tubesHere.TryRemove(queue.Groups[1].Value, out _);
        }
        if (line.StartsWith("LISTENING ", StringComparison.Ordinal)
            && int.TryParse(line.AsSpan("LISTENING ".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            _listening.TrySetResult(port);
        if (line.StartsWith("dashboard: ", StringComparison.Ordinal))
            _dashboard = line["dashboard: ".Length..];
        if (line.Contains("Singleton manager started singleton actor [akka://linda/user/linda-beanstalk/singleton]", StringComparison.Ordinal))
            _hubHere.TrySetResult();
        _child.Log(line);
    }

    private string SafePid()
    {
        try
        {
            return _child.Process.Id.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private bool SafeExited()
    {
        try
        {
            return _child.Process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
