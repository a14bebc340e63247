using System.Collections.Concurrent;
using System.Diagnostics;
using Linda.Tests.Infrastructure;

namespace Linda.Benchmarks;

internal static partial class Program
{
    // ================================================================ failover

    /// <summary>
    /// How long a queue is out of service when its node crashes or leaves. Each run: a fresh database
    /// on a PostgreSQL server of its own, three node processes (tests/Linda.Tests.ClusterNode) on
    /// loopback, a steady load (a survivor-to-be pushes --rate jobs/s; every node runs them), then the
    /// process hosting the queue's singleton is SIGKILLed (--kind=crash) or told to leave the cluster
    /// (--kind=graceful).
    /// <list type="bullet">
    /// <item>failover_ms: from the kill (or the leave command) to the first run, on a surviving node, of
    /// a job whose push was sent after the old singleton was gone (crash: the process is dead; graceful:
    /// its node said the singleton stopped). Such a job can only have been served by the new singleton,
    /// so this is the time until the queue serves workers again.</item>
    /// <item>queue_ms: to the new singleton starting on a survivor (QUEUE-HERE).</item>
    /// <item>drain_ms: until every job acknowledged before the kill (or leave command) had run:
    /// jobs the crash left leased or waiting.</item>
    /// <item>ran_twice: jobs that ran twice (their lease was on the crashed node);
    /// ran_twice_survivors: of them, twice on the surviving nodes (should be 0); lost: acknowledged
    /// jobs that never ran (must be 0; the mode fails otherwise).</item>
    /// </list>
    /// </summary>
    private static async Task ModeFailover(Options o)
    {
        var kind = o.Str("kind", "crash");
        if (kind is not ("crash" or "graceful"))
            throw new ArgumentException($"unknown --kind={kind} (crash or graceful)");
        var profile = o.Str("profile", "fast");
        if (profile is not ("fast" or "production" or "default"))
            throw new ArgumentException($"unknown --profile={profile} (fast, production or default)");
        var runs = o.Int("runs", 3);
        var settings = new FailoverSettings(kind, profile, o.Int("workers", 4), o.Int("work-ms", 10), o.Int("rate", 100), o.Str("node-config", ""));

        await using var server = await PostgresServer.StartAsync();
        var results = new List<FailoverRun>();
        for (var run = 1; run <= runs; run++)
        {
            var r = await FailoverOnce(settings, await server.CreateDatabaseAsync(), run);
            Console.Error.WriteLine($"# failover run {run}: {r}");
            results.Add(r);
        }

        string List(Func<FailoverRun, double> f) => string.Join(",", results.Select(r => Stat.F(f(r), 0)));
        string Median(Func<FailoverRun, double> f) => Stat.F(Stat.Pct(results.Select(f).ToArray(), 50), 0);
        var lost = results.Sum(r => r.Lost);
        Console.WriteLine($"RESULT mode=failover kind={kind} profile={profile} runs={runs} " +
                          $"failover_ms_median={Median(r => r.FailoverMs)} failover_ms={List(r => r.FailoverMs)} " +
                          $"queue_ms_median={Median(r => r.QueueMs)} queue_ms={List(r => r.QueueMs)} " +
                          $"drain_ms_median={Median(r => r.DrainMs)} drain_ms={List(r => r.DrainMs)} " +
                          $"ran_twice={results.Sum(r => r.RanTwice)} ran_twice_survivors={results.Sum(r => r.RanTwiceOnSurvivors)} lost={lost} " +
                          $"acked={results.Sum(r => r.Acked)} nacked={results.Sum(r => r.Nacked)} " +
                          $"rate={settings.Rate} workers={settings.Workers} work_ms={settings.WorkMs}");
        if (lost != 0)
            throw new InvalidOperationException($"failover: {lost} acknowledged jobs never ran");
    }

    private sealed record FailoverSettings(string Kind, string Profile, int Workers, int WorkMs, int Rate, string NodeConfig);

    private sealed record FailoverRun(double FailoverMs, double QueueMs, double DrainMs, int RanTwice, int RanTwiceOnSurvivors, int Lost, int Acked, int Nacked,
        string NackReasons)
    {
        public override string ToString() =>
            $"failover {FailoverMs:F0} ms, queue moved {QueueMs:F0} ms, drained {DrainMs:F0} ms, {Acked} acked, {Nacked} not ({NackReasons}), " +
            $"{RanTwice} ran twice ({RanTwiceOnSurvivors} on survivors), {Lost} lost";
    }

    private static async Task<FailoverRun> FailoverOnce(FailoverSettings s, string db, int run)
    {
        // The longest a phase may take: Akka's default settings take ~47 s to move a singleton, and
        // workers whose reserve was lost ask again after 40 s.
        var bound = TimeSpan.FromSeconds(Math.Min(RunTimeout.TotalSeconds, 180));
        var nodes = new List<ClusterNodeProcess>();
        ClusterNodeProcess StartNode(string name, string[] seeds)
        {
            // Pushes wait for a free slot only if a whole 10-s ask timeout's worth of them is in flight.
            var node = ClusterNodeProcess.Start(name, TestPrograms.FreePort(), seeds, db, s.Profile, s.Workers, s.WorkMs,
                pushWindow: Math.Max(32, s.Rate * 20), hocon: s.NodeConfig.Length > 0 ? s.NodeConfig : null);
            nodes.Add(node);
            return node;
        }
        try
        {
            var first = StartNode($"r{run}n0", []);
            await Within(first.Up, bound, "the first node Up");
            StartNode($"r{run}n1", [first.Address]);
            StartNode($"r{run}n2", [first.Address]);
            await Within(Task.WhenAll(nodes.Select(n => n.Up)), bound, "every node Up");
            await Stat.Within(Task.WhenAny(nodes.Select(n => n.QueueHere)), bound, "the queue's singleton");
            var old = nodes.Single(n => n.QueueHere.IsCompleted);
            var survivors = nodes.Where(n => n != old).ToArray();
            var pusher = survivors[0];

            // Steady load: a batch of pushes every 20 ms, each batch noted with the time it was sent.
            using var stopLoad = new CancellationTokenSource();
            var batches = new ConcurrentDictionary<string, long>();
            var pushes = new ConcurrentBag<Task<ClusterNodeProcess.PushResult>>();
            var load = Task.Run(async () =>
            {
                const int IntervalMs = 20;
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(IntervalMs));
                var perBatch = Math.Max(1, s.Rate * IntervalMs / 1000);
                for (var k = 0; !stopLoad.IsCancellationRequested; k++)
                {
                    var prefix = $"b{k}";
                    batches[prefix] = Stopwatch.GetTimestamp();
                    pushes.Add(pusher.PushAsync(prefix, perBatch));
                    await timer.WaitForNextTickAsync();
                }
            });
            IEnumerable<ClusterNodeProcess.JobRun> Runs() => nodes.SelectMany(n => n.Runs);
            await Until(() => Runs().Count() >= 3 * s.Rate, bound, "jobs running under the load");

            long disruptedAt, goneAt;
            if (s.Kind == "crash")
            {
                disruptedAt = Stopwatch.GetTimestamp();
                old.Kill();
                goneAt = Stopwatch.GetTimestamp();
            }
            else
            {
                disruptedAt = Stopwatch.GetTimestamp();
                old.Leave();
                goneAt = await Stat.Within(old.QueueGone, bound, "the old singleton stopping");
            }
            var survivorNames = survivors.Select(n => n.Name).ToHashSet();
            long? FirstServed() => Runs().Where(r => survivorNames.Contains(r.Node) && batches.TryGetValue(BatchOf(r.JobId), out var sent) && sent > goneAt)
                .Select(r => (long?)r.At).Min();
            await Until(() => FirstServed() is not null, bound, "a job pushed after the failover running");
            var servedAt = FirstServed()!.Value;
            var queueAt = await Stat.Within(Task.WhenAny(survivors.Select(n => n.QueueHere)).Unwrap(), bound, "the new singleton");

            // A little more load after the failover, then let the queue drain.
            await Until(() => Stopwatch.GetElapsedTime(servedAt).TotalSeconds >= 2, bound, "load after the failover");
            await stopLoad.CancelAsync();
            await load;
            var replies = await Stat.Within(Task.WhenAll(pushes), bound, "replies to every push");
            if (s.Kind == "graceful")
                await Within(old.Exited, bound, "the leaving node exiting");
            var acked = survivors.SelectMany(n => n.Acked.Keys).ToHashSet();
            List<string> NotRun()
            {
                var ran = Runs().Select(r => r.JobId).ToHashSet();
                return acked.Where(id => !ran.Contains(id)).ToList();
            }
            async Task<bool> Drained() => NotRun().Count == 0 && await pusher.StatsAsync(TimeSpan.FromSeconds(30)) is { Empty: true };
            if (!await UntilAsync(Drained, bound))
                Console.Error.WriteLine($"# failover run {run}: not drained within {bound.TotalSeconds:0} s; not run: {string.Join(", ", NotRun().Take(10))}");

            var all = Runs().ToList();
            // When the last job that was acknowledged before the disruption had run (its first run).
            var firstRuns = all.GroupBy(r => r.JobId).ToDictionary(g => g.Key, g => g.Min(r => r.At));
            var backlogDoneAt = pusher.Acked.Where(a => a.Value < disruptedAt)
                .Select(a => firstRuns.TryGetValue(a.Key, out var at) ? at : long.MaxValue).DefaultIfEmpty(disruptedAt).Max();
            return new FailoverRun(
                FailoverMs: Stopwatch.GetElapsedTime(disruptedAt, servedAt).TotalMilliseconds,
                QueueMs: Stopwatch.GetElapsedTime(disruptedAt, queueAt).TotalMilliseconds,
                DrainMs: backlogDoneAt == long.MaxValue ? double.NaN : Math.Max(0, Stopwatch.GetElapsedTime(disruptedAt, backlogDoneAt).TotalMilliseconds),
                RanTwice: all.GroupBy(r => r.JobId).Count(g => g.Count() > 1),
                RanTwiceOnSurvivors: all.Where(r => survivorNames.Contains(r.Node)).GroupBy(r => r.JobId).Count(g => g.Count() > 1),
                Lost: NotRun().Count,
                Acked: replies.Sum(r => r.Acked),
                Nacked: replies.Sum(r => r.Nacked),
                NackReasons: string.Join(", ", pusher.Nacked.Values.GroupBy(v => v).Select(g => $"{g.Count()} {g.Key}")));
        }
        catch
        {
            foreach (var node in nodes)
                Console.Error.WriteLine(node.RecentLog());
            throw;
        }
        finally
        {
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    private static async Task Within(Task task, TimeSpan bound, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(bound)) != task)
            throw new TimeoutException($"{what} did not happen within {bound.TotalSeconds:0} s");
        await task;
    }

    /// <summary>The batch a job id (bK-I) belongs to.</summary>
    private static string BatchOf(string jobId) => jobId[..jobId.LastIndexOf('-')];

    private static async Task Until(Func<bool> condition, TimeSpan bound, string what)
    {
        if (!await UntilAsync(() => Task.FromResult(condition()), bound))
            throw new TimeoutException($"{what} did not happen within {bound.TotalSeconds:0} s");
    }

    /// <summary>Checks <paramref name="condition"/> every 20 ms; false if it did not hold within <paramref name="bound"/>.</summary>
    private static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan bound)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > bound)
                return false;
            await Task.Delay(20);
        }
        return true;
    }
}
