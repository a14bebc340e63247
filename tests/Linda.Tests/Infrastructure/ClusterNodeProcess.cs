using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A Linda node in an OS process of its own (tests/Linda.Tests.ClusterNode, built next to the caller),
/// driven over stdin/stdout: commands go out as lines; what it prints comes back parsed, each line
/// stamped with the <see cref="Stopwatch"/> time it arrived. <see cref="Kill"/> is a SIGKILL.
/// Shared by MultiProcessSpec and the benchmark's failover and cluster-workers modes (linked there).
/// </summary>
public sealed class ClusterNodeProcess : IDisposable
{
    private const int LogLines = 200;

    private readonly CapturedProcess _child;
    private readonly TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<long> _queueHere = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<long> _queueGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _left = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, long> _acked = new();
    private readonly ConcurrentDictionary<string, string> _nacked = new();
    private readonly ConcurrentQueue<JobRun> _runs = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<PushResult>> _pushes = new();
    private readonly SemaphoreSlim _queryGate = new(1);
    private readonly Lock _stdin = new();
    private Query? _query;

    private ClusterNodeProcess(string name, int port, bool tls, ProcessStartInfo start)
    {
        Name = name;
        Port = port;
        Tls = tls;
        _child = new CapturedProcess(start, LogLines, OnLine);
    }

    /// <summary>One run of the "record" handler: it printed <c>RAN</c> when the job's work was done.</summary>
    public sealed record JobRun(string JobId, int Attempt, string Node, long At);

    /// <summary>What one push command got back.</summary>
    public sealed record PushResult(int Acked, int Nacked);

    /// <summary>
    /// The "count" handler's runs on the node, as its <c>counts</c> command printed them, and what its
    /// runtime spent so far: milliseconds in the JIT, bytes allocated, GC pauses and collections (gen0 and up).
    /// </summary>
    public sealed record RunCounts(long Ran, long Redelivered, double JitMs, long AllocatedBytes, double GcPauseMs, long Collections);

    /// <summary>The queue's counts, as a node's <c>stats</c> command printed them.</summary>
    public sealed record QueueCounts(int Ready, int Reserved, int Delayed, int Buried, int Jobs)
    {
        public bool Empty => Ready == 0 && Reserved == 0 && Delayed == 0 && Buried == 0;
    }

    public string Name { get; }

    public int Port { get; }

    /// <summary>Whether its remoting runs over TLS (it was started with a certificate).</summary>
    public bool Tls { get; }

    /// <summary>The node's cluster address, to seed other nodes with.</summary>
    public string Address => $"{(Tls ? "akka.ssl.tcp" : "akka.tcp")}://linda@127.0.0.1:{Port}";

    /// <summary>Completes when the node's member is Up.</summary>
    public Task Up => _up.Task;

    /// <summary>Completes, with the time it was seen, when the queue's singleton starts on this node.</summary>
    public Task<long> QueueHere => _queueHere.Task;

    /// <summary>Completes, with the time it was seen, when the queue's singleton stops on this node.</summary>
    public Task<long> QueueGone => _queueGone.Task;

    /// <summary>Completes when the node has left the cluster after <see cref="Leave"/>.</summary>
    public Task Left => _left.Task;

    /// <summary>Job ids whose push from this node was acknowledged (Pushed), with the time the ACK arrived.</summary>
    public IReadOnlyDictionary<string, long> Acked => _acked;

    /// <summary>Job ids whose push from this node got another reply or none, with that reply.</summary>
    public IReadOnlyDictionary<string, string> Nacked => _nacked;

    /// <summary>The jobs this node's workers ran, in the order they said so.</summary>
    public IReadOnlyCollection<JobRun> Runs => _runs;

    public bool HasExited => _child.Process.HasExited;

    /// <summary>The node's process id (its CPU time is in /proc/ID/stat).</summary>
    public int ProcessId => _child.Process.Id;

    /// <summary>Its exit code, once it has exited.</summary>
    public int ExitCode => _child.Process.ExitCode;

    /// <summary>Completes when the process has exited and all it printed is read.</summary>
    public Task Exited => _child.Process.WaitForExitAsync();

    /// <summary>
    /// Starts a node on loopback port <paramref name="port"/>; <paramref name="seeds"/> empty: it joins
    /// itself. <paramref name="profile"/> is fast, production or default. <paramref name="tls"/>: remoting
    /// over TLS with that PKCS#12 file (its password <paramref name="tlsPassword"/>, given in the
    /// environment as an operator would) and that authority's certificate file. <paramref name="placement"/>
    /// (sharded or singleton; null: the node's default), <paramref name="queues"/> (null: "jobs"),
    /// <paramref name="partitions"/> (queue to P) and <paramref name="watch"/> (the first queue's
    /// QUEUE-HERE lines) are the node's --placement, --queues, --partitions and --watch.
    /// </summary>
    public static ClusterNodeProcess Start(string name, int port, IEnumerable<string> seeds, string postgres, string profile = "fast",
        int workers = 4, int workMs = 10, int pushWindow = 32, string? hocon = null, (string Cert, string Password, string? Ca)? tls = null,
        string? placement = null, IReadOnlyList<string>? queues = null, IReadOnlyDictionary<string, int>? partitions = null, bool watch = true)
    {
        var args = new List<string>
        {
            "--name", name, "--cluster-port", port.ToString(CultureInfo.InvariantCulture), "--postgres", postgres, "--profile", profile,
            "--workers", workers.ToString(CultureInfo.InvariantCulture), "--work-ms", workMs.ToString(CultureInfo.InvariantCulture),
            "--push-window", pushWindow.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var seed in seeds)
            args.AddRange(["--seed", seed]);
        if (hocon is not null)
            args.AddRange(["--hocon", hocon]);
        if (placement is not null)
            args.AddRange(["--placement", placement]);
        if (queues is { Count: > 0 })
            args.AddRange(["--queues", string.Join(",", queues)]);
        foreach (var (queue, count) in partitions ?? new Dictionary<string, int>())
            args.AddRange(["--partitions", $"{queue}={count.ToString(CultureInfo.InvariantCulture)}"]);
        if (!watch)
            args.AddRange(["--watch", "off"]);
        if (tls is { } t)
        {
            args.AddRange(["--tls-cert", t.Cert]);
            if (t.Ca is not null)
                args.AddRange(["--tls-ca", t.Ca]);
        }
        var start = TestPrograms.Dotnet("Linda.Tests.ClusterNode.dll", [.. args]);
        start.RedirectStandardInput = true;
        if (tls is { } secret)
            start.Environment["LINDA_TLS_PASSWORD"] = secret.Password;
        var node = new ClusterNodeProcess(name, port, tls is not null, start);
        node._child.Start();
        return node;
    }

    /// <summary>Pushes jobs <paramref name="prefix"/>-0 .. -(count-1); completes when each has its reply.</summary>
    public Task<PushResult> PushAsync(string prefix, int count)
    {
        var done = new TaskCompletionSource<PushResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pushes.TryAdd(prefix, done))
            throw new ArgumentException($"prefix {prefix} was pushed already", nameof(prefix));
        Send($"push {prefix} {count.ToString(CultureInfo.InvariantCulture)}");
        return done.Task;
    }

    /// <summary>
    /// Pushes <paramref name="count"/> jobs of class "count" (ids the queue makes) round robin over the
    /// node's queues, without a line per push, <paramref name="inFlight"/> at a time (null: its --push-window);
    /// completes when each has its reply.
    /// </summary>
    public Task<PushResult> LoadAsync(string prefix, int count, int? inFlight = null)
    {
        var done = new TaskCompletionSource<PushResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pushes.TryAdd(prefix, done))
            throw new ArgumentException($"prefix {prefix} was pushed already", nameof(prefix));
        Send($"load {prefix} {count.ToString(CultureInfo.InvariantCulture)}{(inFlight is { } w ? " " + w.ToString(CultureInfo.InvariantCulture) : "")}");
        return done.Task;
    }

    /// <summary>The queue's counts through this node (<paramref name="queue"/> null: its first queue), or null when the queue did not answer in time.</summary>
    public async Task<QueueCounts?> StatsAsync(TimeSpan timeout, string? queue = null)
    {
        var line = await AskAsync(queue is null ? "stats" : $"stats {queue}", "STATS", timeout);
        if (line is null || !line.StartsWith("STATS ", StringComparison.Ordinal))
            return null;
        var counts = line.Split(' ')[1..].Select(w => w.Split('=')).ToDictionary(kv => kv[0], kv => Int(kv[1]));
        return new QueueCounts(counts["ready"], counts["reserved"], counts["delayed"], counts["buried"], counts["jobs"]);
    }

    /// <summary>How often the node's "count" handler ran, or null when the node did not say in time.</summary>
    public async Task<RunCounts?> CountsAsync(TimeSpan timeout)
    {
        var line = await AskAsync("counts", "COUNTS", timeout);
        if (line is null)
            return null;
        var counts = line.Split(' ')[1..].Select(w => w.Split('=')).ToDictionary(kv => kv[0], kv => long.Parse(kv[1], CultureInfo.InvariantCulture));
        long Get(string key) => counts.TryGetValue(key, out var v) ? v : 0;
        return new RunCounts(Get("ran"), Get("redelivered"), Get("jit_ms"), Get("allocated_bytes"), Get("gc_pause_ms"), Get("gcs"));
    }

    /// <summary>Pauses every queue of the node; false when one refused or did not answer in time.</summary>
    public async Task<bool> PauseAsync(TimeSpan timeout) => await AskAsync("pause", "PAUSED", timeout) == "PAUSED";

    /// <summary>Ends the pause of every queue of the node; false when one refused or did not answer in time.</summary>
    public async Task<bool> ResumeAsync(TimeSpan timeout) => await AskAsync("resume", "RESUMED", timeout) == "RESUMED";

    /// <summary>The queue actors (queues, partitions) running on the node now; null when it did not say in time.</summary>
    public async Task<IReadOnlyList<string>?> WhereAsync(TimeSpan timeout) =>
        await AskAsync("where", "WHERE", timeout) is { } line ? line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..] : null;

    // One question at a time: sends the command and waits for the line that starts with the answer's
    // word (or the word and "-FAILED"); null after the timeout.
    private async Task<string?> AskAsync(string command, string answer, TimeSpan timeout)
    {
        await _queryGate.WaitAsync();
        try
        {
            _query = new Query(answer);
            Send(command);
            return await _query.Line.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _query = null;
            _queryGate.Release();
        }
    }

    private sealed class Query(string answer)
    {
        public string Answer { get; } = answer;

        public TaskCompletionSource<string> Line { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Asks the node to leave the cluster gracefully; it prints LEFT (<see cref="Left"/>) and exits.</summary>
    public void Leave() => Send("leave");

    /// <summary>SIGKILL: no shutdown, no flush. Returns once the process is gone and all it printed is read.</summary>
    public void Kill() => _child.Kill();

    /// <summary>Whether one of the last lines it logged (stderr) contains <paramref name="text"/>.</summary>
    public bool Logged(string text) => _child.Logged.Contains(text, StringComparison.Ordinal);

    /// <summary>The last lines of stderr ("! ...") and the stdout lines that are not parsed, for a failure message.</summary>
    public string RecentLog() => $"--- {Name} ({(HasExited ? "exited" : "running")}):\n" + _child.Logged;

    public void Dispose()
    {
        _child.Dispose();
        _queryGate.Dispose();
    }

    private void Send(string line)
    {
        lock (_stdin)
        {
            _child.Process.StandardInput.WriteLine(line);
            _child.Process.StandardInput.Flush();
        }
    }

    private void OnLine(string line, long at)
    {
        var words = line.Split(' ');
        switch (words)
        {
            case ["UP"]: _up.TrySetResult(); break;
            case ["QUEUE-HERE"]: _queueHere.TrySetResult(at); break;
            case ["QUEUE-GONE"]: _queueGone.TrySetResult(at); break;
            case ["LEFT"]: _left.TrySetResult(); break;
            case ["ACK", var id]: _acked[id] = at; break;
            case ["NACK", var id, ..]: _nacked[id] = string.Join(' ', words[2..]); break;
            case ["RAN", var id, var attempt, var node]: _runs.Enqueue(new JobRun(id, Int(attempt), node, at)); break;
            case ["PUSHED", var prefix, var acked, var nacked] when _pushes.TryGetValue(prefix, out var push):
                push.TrySetResult(new PushResult(Int(acked["acked=".Length..]), Int(nacked["nacked=".Length..])));
                break;
            case [var first, ..] when _query is { } query && (first == query.Answer || first == query.Answer + "-FAILED"):
                if (first != query.Answer)
                    _child.Log(line);
                query.Line.TrySetResult(line);
                break;
            default: _child.Log(line); break;
        }
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
}
