using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Routing;
using Linda.Workers;
using Microsoft.Extensions.DependencyInjection;
using static Linda.JobQueue;

namespace Linda.Benchmarks;

internal static partial class Program
{
    // ================================================================ workers

    /// <summary>Hangfire's figures on the same kind of no-op job, for comparison (jobs/s).</summary>
    private const double HangfireInMemory = 13_000, HangfireSqlite = 180, WorkersGoal = 15_000;

    /// <summary>A 100-byte payload of the class the no-op handler is registered for.</summary>
    private static readonly JobPayload NoopPayload100 = MakePayload(100, "noop");

    /// <summary>
    /// End to end through Linda's own workers: a <see cref="RoundRobinPool"/> of <see cref="JobWorker"/>
    /// actors (one job at a time each, as in production) with a no-op handler, on one queue actor, no
    /// cluster. For each pool size in <c>--workers</c> (default 4,16): the producers of push mode push N
    /// jobs while the workers run them; timed from the first push to the N-th handler run (handled_s)
    /// and to the moment the queue answers GetStats with no job left (empty_s: every Complete is in the
    /// journal, since GetStats is answered after all pending writes). workers_jobs_per_s = N / empty_s.
    /// </summary>
    private static async Task ModeWorkers(Options o, int? count)
    {
        await WarmUp(o);
        var producers = o.Int("producers", 4);
        var window = o.Int("window", 200);
        var driver = o.Str("driver", "actor");
        var sizes = o.Str("workers", "4,16").Split(',').Select(int.Parse).ToArray();
        var rates = new Dictionary<int, double>();
        if (o.Double("warmup", 30) > 0)
        {
            // The worker path (JobWorker, JobContext, DI scope, PipeTo) gets its JIT too, and sizes the runs.
            await using var warm = await Bench.CreateAsync(o);
            for (var round = 0; round < 3; round++)
            {
                foreach (var size in sizes)
                {
                    var w = await RunWorkers(o, warm, $"warm-workers-{size}-{round}", 20_000, size, producers, window, driver);
                    rates[size] = 20_000 / w.EmptySeconds;
                    Console.Error.WriteLine($"# warm-up workers={size}: {rates[size]:F0}/s");
                }
            }
        }
        foreach (var size in sizes)
        {
            var n = Size(o, count, rates.GetValueOrDefault(size, _warmCycle1));
            await using var b = await Bench.CreateAsync(o);
            var r = await RunWorkers(o, b, $"workers-{size}", n, size, producers, window, driver);
            var rate = n / r.EmptySeconds;
            Console.Error.WriteLine($"# workers={size}: all {n} pushed after {r.PushSeconds:F3} s, the {n}-th handler run after {r.HandledSeconds:F3} s, " +
                                    $"queue empty (every Complete persisted) after {r.EmptySeconds:F3} s; verified: each job ran exactly once");
            Console.Error.WriteLine($"# workers={size}: {rate:F0} jobs/s = {rate / HangfireInMemory:F2} x Hangfire in-memory (~{HangfireInMemory:F0}/s), " +
                                    $"{rate / HangfireSqlite:F0} x Hangfire SQLite (~{HangfireSqlite:F0}/s); goal >= {WorkersGoal:F0}/s {(rate >= WorkersGoal ? "met" : "NOT met")}");
            Console.WriteLine($"RESULT mode=workers store={b.Store} workers={size} n={n} producers={producers} window={window} driver={driver} payload_bytes={NoopPayload100.Size} " +
                              $"push_s={Stat.F(r.PushSeconds, 3)} handled_s={Stat.F(r.HandledSeconds, 3)} empty_s={Stat.F(r.EmptySeconds, 3)} " +
                              $"handled_jobs_per_s={Stat.F(n / r.HandledSeconds, 0)} workers_jobs_per_s={Stat.F(rate, 0)} " +
                              $"vs_hangfire_mem={Stat.F(rate / HangfireInMemory, 2)} vs_hangfire_sqlite={Stat.F(rate / HangfireSqlite, 0)} " +
                              $"redelivered={r.Redelivered} {r.Figures}");
            TraceSummary(o, $"workers={size}");
        }
    }

    private sealed record WorkersResult(double PushSeconds, double HandledSeconds, double EmptySeconds, long Redelivered, string Figures);

    private static async Task<WorkersResult> RunWorkers(Options o, Bench b, string queue, int n, int workerCount, int producers, int window, string driver)
    {
        var sys = b.Sys;
        var q = await b.StartedQueue(queue);
        var tracker = new Tracker(n);
        var ran = new ConcurrentDictionary<string, byte>(Environment.ProcessorCount, n);
        var handlers = new JobHandlers().Register("noop", ctx =>
        {
            if (!ran.TryAdd(ctx.JobId, 0))
                tracker.OnDuplicate();
            if (ctx.Attempt > 1)
                tracker.OnRedelivered();
            tracker.OnCompleted(Stopwatch.GetTimestamp());
            return Task.CompletedTask;
        });
        // --schedules=N: N cron schedules firing every second on the same queue during the run.
        var scheduleCount = o.Int("schedules", 0);
        var ticks = 0L;
        handlers.Register("tick", _ =>
        {
            Interlocked.Increment(ref ticks);
            return Task.CompletedTask;
        });
        using var services = new ServiceCollection().BuildServiceProvider();
        var pool = sys.ActorOf(JobWorker.Props(q, handlers, b.Settings.Workers, services).WithRouter(new RoundRobinPool(workerCount)));

        await using var dashboard = await DashboardLoad.StartAsync(o, sys, queue, q);

        // Every worker's first (long-poll) reserve is waiting at the queue before the clock starts.
        var ready = Stopwatch.StartNew();
        while ((await q.Ask<QueueStats>(GetStats.Instance, AskTimeout)).Waiting < workerCount)
        {
            if (ready.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException($"workers: {workerCount} workers not all waiting after 30 s");
            await Task.Delay(10);
        }

        for (var i = 0; i < scheduleCount; i++)
        {
            var saved = await q.Ask<IReply>(new AddOrUpdateSchedule($"s{i}", "* * * * * *", JobPayload.Create("tick")), AskTimeout);
            if (saved is not ScheduleSaved)
                throw new InvalidOperationException($"workers: schedule s{i} refused: {saved}");
        }

        var usage = new Usage();
        var t0 = Stopwatch.GetTimestamp();
        var ticksAtStart = Interlocked.Read(ref ticks);
        var keys = o.Int("keys", 0);
        var pushTasks = StartProducers(b, q, queue, n, producers, window, driver, NoopPayload100, keys);
        var pushed = await Stat.Within(Task.WhenAll(pushTasks), RunTimeout, "workers producers");
        var tPushed = Stopwatch.GetTimestamp();
        var tHandled = await Stat.Within(tracker.Done.Task, RunTimeout, $"workers ({tracker.CompletedCount} of {n} handled)");
        var tickRate = (Interlocked.Read(ref ticks) - ticksAtStart) / Stat.Seconds(t0, Stopwatch.GetTimestamp());
        for (var i = 0; i < scheduleCount; i++)
            await q.Ask<IReply>(new RemoveSchedule($"s{i}"), AskTimeout);

        // GetStats is answered once every event before it is in the journal: Jobs == 0 means every
        // Complete arrived and is persisted. Ask again until then (each ask waits for one journal write).
        QueueStats stats;
        var polls = 0;
        while (true)
        {
            stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
            polls++;
            if (stats.Jobs == 0)
                break;
            if (Stat.Seconds(t0, Stopwatch.GetTimestamp()) > RunTimeout.TotalSeconds)
                throw new TimeoutException($"workers: queue not empty: {stats}");
        }
        var tEmpty = Stopwatch.GetTimestamp();
        var (stalls, stallMs, longestMs) = tracker.Stalls;
        var figures = $"stalls_50ms={stalls} stall_ms={Stat.F(stallMs, 0)} longest_gap_ms={Stat.F(longestMs, 1)} stats_polls={polls} " +
                      usage.Figures(n) + " " + JournalWrites(b, queue, 3L * n) +
                      $" schedules={scheduleCount} schedule_runs_per_s={Stat.F(tickRate, 0)} keys={keys} per_key={b.Settings.Limits.MaxConcurrentPerKey}" +
                      (dashboard is null ? " dashboard=off" : $" dashboard=on dashboard_api_requests={dashboard.Requests} dashboard_api_per_s={Stat.F(dashboard.RequestsPerSecond, 1)}");

        await pool.GracefulStop(TimeSpan.FromSeconds(10));
        var pushedIds = pushed.SelectMany(x => x).ToHashSet();
        if (pushedIds.Count != n)
            throw new InvalidOperationException($"workers: {pushedIds.Count} distinct pushed ids, expected {n}");
        if (tracker.Duplicates != 0 || tracker.CompletedCount != n || ran.Count != n || !pushedIds.SetEquals(ran.Keys))
            throw new InvalidOperationException($"workers: handler ran {tracker.CompletedCount} times ({ran.Count} distinct jobs, {tracker.Duplicates} duplicates), expected each of {n} once");
        if (stats.Ready != 0 || stats.Reserved != 0 || stats.Delayed != 0 || stats.Buried != 0)
            throw new InvalidOperationException($"workers: queue not empty at the end: {stats}");
        await q.GracefulStop(TimeSpan.FromSeconds(10));
        return new WorkersResult(Stat.Seconds(t0, tPushed), Stat.Seconds(t0, tHandled), Stat.Seconds(t0, tEmpty), tracker.Redelivered, figures);
    }
}
