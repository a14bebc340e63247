// Linda benchmarks: one queue actor on Akka.Persistence.Sql + SQLite (WAL, synchronous=FULL), in one
// process with its producers and consumers. Each run uses a SQLite file in a fresh temporary folder,
// deleted afterwards. Every mode prints one line "RESULT mode=MODE key=value ..." on stdout (cycle:
// one per shape); notes go to stderr.
//
// usage: dotnet run -c Release --project tests/Linda.Benchmarks -- MODE [N] [--key=value ...]
//   push     [N=50000]    N pushes of 100-byte payloads from --producers=4, each keeping --window=200
//                         pushes unacknowledged (--driver=actor|ask), after a warm-up
//   cycle    [N=50000]    push -> reserve -> complete of N jobs, producers and --consumers=4 at the same
//                         time; one line per shape in --slots=25,1 (reservations each consumer holds)
//   latency  [M=1000]     idle push -> Reserved latency: a consumer waits with a long reserve, one job at a time
//   delayed  [M=1000]     M jobs pushed with a 1 s delay (--pace=MS between pushes, 0 = all at once);
//                         lateness of Reserved vs push sent + 1 s; --consumers=4 --slots=1
//   recovery [N=1000000]  push N ready jobs, stop the system, recover the queue in a new process (cold)
//                         and again in this one (warm); recovery time, memory, snapshot, file sizes
//   workers  [N=50000]    N jobs of class "noop" (100-byte payloads) pushed as in push mode while a
//                         RoundRobinPool of real JobWorker actors with a no-op handler runs them; one
//                         line per pool size in --workers=4,16; timed to the N-th handler run and to the
//                         queue being empty (every Complete persisted); --dashboard=on serves the dashboard
//                         during each run, open in two headless Chromium pages (overview, the queue) that
//                         redraw every 2 s (DashboardLoad), to measure what watching costs the queue;
//                         --schedules=N adds N cron schedules firing every second on the queue (class tick);
//                         --keys=K pushes each job with one of K concurrency keys, round robin (with
//                         --config="linda.queue.max-concurrent-per-key = 1" for a limit of one per key)
//   failover              three node processes (tests/Linda.Tests.ClusterNode) on a PostgreSQL server of
//                         its own, under a steady load (--rate=100 jobs/s pushed from one node, --workers=4
//                         per node running --work-ms=10 jobs); the queue's node is SIGKILLed (--kind=crash)
//                         or leaves the cluster (--kind=graceful); --profile=fast|production|default
//                         (Linda's failover profiles, or Akka's settings); --runs=3, medians. failover_ms:
//                         from the kill / leave command to the first run of a job pushed after the old
//                         singleton was gone (served by the new one); queue_ms: to the new singleton
//                         starting; drain_ms: until every job acknowledged before the kill / leave had
//                         run; ran_twice (any node), ran_twice_survivors; lost (must be 0).
//                         --node-config=HOCON goes to every node (e.g. "linda.workers.reserve-wait = 2s")
//   cluster-workers [N=50000]  the workers benchmark on three node processes (tests/Linda.Tests.ClusterNode)
//                         and one durable PostgreSQL server, in one run for each layout of --layouts=
//                         singleton,p1,p3,p6,q6 (the singleton placement, one queue; the sharded placement,
//                         one queue of 1, 3 or 6 partitions; six queues): N jobs pushed (a third through
//                         each node, --window=500 in flight per node) while the queues are paused, then
//                         drained by --workers=12 workers per node with a handler that only counts, after
//                         rounds of --warmup-jobs=10000 (20 to 60 s, until the JIT settles); jobs/s, journal
//                         rows/s, events per row, rows per transaction, CPU of each node and of PostgreSQL per
//                         job and per row, where the queue actors ran; then --trickle-jobs=1500 pushes one at
//                         a time per node (a row each): a row's own cost; --runs=N, medians, and a table with
//                         ratios to the singleton; --toast-compression=lz4: the database compresses large
//                         values with lz4 instead of pglz (an experiment)
//   bridge   [N=50000]    N jobs moved by a broker bridge into one Linda queue, on a server this process
//                         starts: --source=redis (the Go Linda's layout; --batch=the bridge's BatchSize),
//                         rabbitmq (persistent confirmed messages; --prefetch=the bridge's), or both
//                         (redis,rabbitmq); beside Linda's own push rate (the push mode on a fresh file),
//                         the bridge's own pushes (ids, unique keys) pushed directly, and the source's
//                         consumer rate (redis-benchmark -t lpush,lpop: LPOP; RabbitMQ basic.consume with
//                         manual acks), in one run
//   all                   every mode in turn with its defaults (not failover)
// options: --warmup=SECONDS (10), --config=HOCON or --config=@FILE (or env LINDA_BENCH_CONFIG): extra
//          HOCON over Linda's SQLite defaults, e.g. --config="linda.queue.snapshot-every = 0";
//          --timeout=SECONDS (600) for any one phase; --postgres=CONNECTION_STRING runs on PostgreSQL instead
// diagnostics (they change what is measured; never used for the reported figures):
//   --trace-sql=MS      time every SQL command of the journal and snapshot store, print slower ones
//   --busy-timeout=MS   also set PRAGMA busy_timeout on every connection (SQLite waits for a lock in
//                       short sleeps instead of Microsoft.Data.Sqlite's 150 ms retry sleep)
//   --min-threads=N     raise the thread pool's minimum; --verbose (delayed) prints every job
//
// Extra figures on the lines: cpu_pct (process CPU over the measured section, % of all cores), GC
// counts and pause time, stalls_50ms (gaps of >= 50 ms between Completed replies), and what the
// queue's journal rows say about the writes (Akka.Persistence.Sql stamps all rows of one write with
// the same `created` time): journal_writes_seen, events_per_write, ms_per_write.
using System.Diagnostics;
using Akka.Actor;
using Linda.Persistence;
using Microsoft.Data.Sqlite;
using static Linda.JobQueue;

namespace Linda.Benchmarks;

internal static partial class Program
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(60);
    private static TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    /// <summary>A payload whose <see cref="JobPayload.Size"/> (class + JSON args) is 100 bytes.</summary>
    private static readonly JobPayload Payload100 = MakePayload(100);

    private static JobPayload MakePayload(int size, string @class = "bench")
    {
        var empty = JobPayload.Create(@class, "");
        var payload = JobPayload.Create(@class, new string('x', size - empty.Size));
        if (payload.Size != size)
            throw new InvalidOperationException($"payload is {payload.Size} bytes, not {size}");
        return payload;
    }

    private static async Task<int> Main(string[] args)
    {
        var o = new Options(args);
        RunTimeout = TimeSpan.FromSeconds(o.Double("timeout", 600));
        if (o.Int("min-threads", 0) is > 0 and var minThreads) // diagnostic: more thread-pool threads from the start
        {
            ThreadPool.GetMinThreads(out _, out var io);
            ThreadPool.SetMinThreads(minThreads, Math.Max(io, minThreads));
        }
        // --telemetry=on: Linda's meter and spans are listened to, as an OpenTelemetry exporter would
        // (every instrument enabled, each measurement added up; every span sampled and recorded).
        using var telemetry = o.Str("telemetry", "off") == "on" ? TelemetryListeners.Start() : null;
        try
        {
            switch (o.Mode)
            {
                case "push": await ModePush(o, o.N); break;
                case "cycle": await ModeCycle(o, o.N); break;
                case "latency": await ModeLatency(o, o.N); break;
                case "delayed": await ModeDelayed(o, o.N); break;
                case "recovery": await ModeRecovery(o, o.N); break;
                case "recovery-child": await ModeRecoveryChild(o); break;
                case "workers": await ModeWorkers(o, o.N); break;
                case "failover": await ModeFailover(o); break;
                case "cluster-workers": await ModeClusterWorkers(o, o.N); break;
                case "all":
                    // One warm-up, then each mode of --modes in turn (default: all but failover and compare).
                    foreach (var mode in o.Str("modes", "push,cycle,latency,delayed,recovery,workers").Split(','))
                    {
                        Func<Options, int?, Task> run = mode switch
                        {
                            "push" => ModePush,
                            "cycle" => ModeCycle,
                            "latency" => ModeLatency,
                            "delayed" => ModeDelayed,
                            "recovery" => ModeRecovery,
                            "workers" => ModeWorkers,
                            _ => throw new ArgumentException($"--modes: unknown mode '{mode}'"),
                        };
                        await run(o, null);
                    }
                    break;
                case "compare": await ModeCompare(o); break;
                case "bridge": await ModeBridge(o, o.N); break;
                default:
                    Console.Error.WriteLine("usage: Linda.Benchmarks push|cycle|latency|delayed|recovery|workers|failover|cluster-workers|all|compare|bridge [N] [--key=value ...]");
                    return 2;
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"FAILED: {e}");
            return 1;
        }
        finally
        {
            await Databases.StopAsync();
        }
    }

    // ================================================================ push

    private static async Task ModePush(Options o, int? count)
    {
        await WarmUp(o);
        var n = Size(o, count, _warmPush);
        var producers = o.Int("producers", 4);
        var window = o.Int("window", 200);
        var driver = o.Str("driver", "actor");
        await using var b = await Bench.CreateAsync(o);

        var q = await b.StartedQueue("bench");
        var usage = new Usage();
        var (seconds, ids) = await RunPush(b, q, "bench", n, producers, window, driver);
        var figures = usage.Figures(n);
        if (ids.Distinct().Count() != n)
            throw new InvalidOperationException($"push: {ids.Distinct().Count()} distinct job ids, expected {n}");
        var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
        if (stats.Ready != n)
            throw new InvalidOperationException($"push: queue has {stats.Ready} ready jobs, expected {n}");
        TraceSummary(o, "push");
        Console.Error.WriteLine($"# push: {n} jobs acknowledged in {seconds:F3} s, queue holds {stats.Ready} ready");
        Console.WriteLine($"RESULT mode=push store={b.Store} n={n} producers={producers} window={window} driver={driver} payload_bytes={Payload100.Size} " +
                          $"push_s={Stat.F(seconds, 3)} push_jobs_per_s={Stat.F(n / seconds, 0)} {figures} {JournalWrites(b, "bench", n)}");
        await q.GracefulStop(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Pushes <paramref name="n"/> jobs from <paramref name="producers"/> producers, each keeping up to
    /// <paramref name="window"/> pushes unacknowledged. Returns the time until the last Pushed and the ids.
    /// </summary>
    private static async Task<(double Seconds, string[] Ids)> RunPush(Bench b, IActorRef q, string queue, int n, int producers, int window, string driver)
    {
        var t0 = Stopwatch.GetTimestamp();
        var tasks = StartProducers(b, q, queue, n, producers, window, driver);
        var ids = await Stat.Within(Task.WhenAll(tasks), RunTimeout, "push");
        var t1 = Stopwatch.GetTimestamp();
        return (Stat.Seconds(t0, t1), ids.SelectMany(x => x).ToArray());
    }

    private static Task<string[]>[] StartProducers(Bench b, IActorRef q, string queue, int n, int producers, int window, string driver,
        JobPayload? jobPayload = null, int concurrencyKeys = 0)
    {
        var payload = jobPayload ?? Payload100;
        var pushed = 0;
        Func<Push> make = concurrencyKeys > 0
            ? () => new Push(queue, payload) { ConcurrencyKey = "k" + (Interlocked.Increment(ref pushed) % concurrencyKeys).ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : () => new Push(queue, payload);
        var per = n / producers;
        return Enumerable.Range(0, producers).Select(i =>
        {
            var share = i == producers - 1 ? n - per * (producers - 1) : per;
            return driver switch
            {
                "actor" => StartActorProducer(b.Sys, q, make, share, window),
                "ask" => AskProducer(q, make, share, window),
                _ => throw new ArgumentException($"unknown driver '{driver}' (actor or ask)"),
            };
        }).ToArray();
    }

    /// <summary>A <see cref="Producer"/> actor: replies come back to it; it sends the next push from its mailbox.</summary>
    private static Task<string[]> StartActorProducer(ActorSystem sys, IActorRef q, Func<Push> make, int count, int window)
    {
        var done = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        sys.ActorOf(Props.Create(() => new Producer())).Tell(new Producer.Start(q, make, count, window, done));
        return done.Task;
    }

    /// <summary><paramref name="window"/> lanes, each awaiting an Ask per push, one after another.</summary>
    private static async Task<string[]> AskProducer(IActorRef q, Func<Push> make, int count, int window)
    {
        var ids = new string[count];
        var next = -1;
        async Task Lane()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var reply = await q.Ask<IReply>(make(), AskTimeout);
                ids[i] = reply is Pushed p ? p.JobId : throw new InvalidOperationException($"push refused: {reply}");
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Math.Min(window, count)).Select(_ => Task.Run(Lane)));
        return ids;
    }

    // ================================================================ cycle

    private static async Task ModeCycle(Options o, int? count)
    {
        await WarmUp(o);
        var producers = o.Int("producers", 4);
        var consumers = o.Int("consumers", 4);
        var window = o.Int("window", 200);
        var driver = o.Str("driver", "actor");
        var shapes = o.Str("slots", "25,1").Split(',').Select(int.Parse).ToArray();
        foreach (var slots in shapes)
        {
            var n = Size(o, count, slots == 1 ? _warmCycle1 : _warmCycle25);
            await using var b = await Bench.CreateAsync(o);
            var r = await RunCycle(b, $"cycle-s{slots}", n, producers, consumers, slots, window, driver);
            Console.Error.WriteLine($"# cycle slots={slots}: all {n} pushed after {r.PushSeconds:F3} s, the {n}-th completed after {r.CycleSeconds:F3} s; " +
                                    $"verified: each job completed exactly once, queue has 0 ready/reserved/delayed/buried ({r.Stats.Waiting} waits left)");
            Console.WriteLine($"RESULT mode=cycle store={b.Store} slots={slots} n={n} producers={producers} consumers={consumers} window={window} driver={driver} " +
                              $"push_s={Stat.F(r.PushSeconds, 3)} cycle_s={Stat.F(r.CycleSeconds, 3)} cycle_jobs_per_s={Stat.F(n / r.CycleSeconds, 0)} " +
                              $"redelivered={r.Redelivered} {r.Figures}");
            TraceSummary(o, $"cycle slots={slots}");
        }
    }

    private sealed record CycleResult(double PushSeconds, double CycleSeconds, long Redelivered, QueueStats Stats, string Figures);

    /// <summary>
    /// Producers push <paramref name="n"/> jobs while consumers, started at the same moment, reserve and
    /// complete them. Timed from the start until the n-th Completed reply; then checks that every pushed
    /// job was completed exactly once and that the queue is empty.
    /// </summary>
    private static async Task<CycleResult> RunCycle(Bench b, string queue, int n, int producers, int consumers, int slots, int window, string driver)
    {
        var sys = b.Sys;
        var q = await b.StartedQueue(queue);
        var tracker = new Tracker(n);
        var workers = Enumerable.Range(0, consumers)
            .Select(_ => sys.ActorOf(Props.Create(() => new Consumer(tracker, null))))
            .ToArray();

        var usage = new Usage();
        var t0 = Stopwatch.GetTimestamp();
        foreach (var w in workers)
            w.Tell(new Consumer.Start(q, slots, TimeSpan.FromSeconds(30)));
        var pushTasks = StartProducers(b, q, queue, n, producers, window, driver);
        var pushed = await Stat.Within(Task.WhenAll(pushTasks), RunTimeout, "cycle producers");
        var tPushed = Stopwatch.GetTimestamp();
        var tDone = await Stat.Within(tracker.Done.Task, RunTimeout, $"cycle consumers ({tracker.CompletedCount} of {n} completed)");
        var (stalls, stallMs, longestMs) = tracker.Stalls;
        var figures = $"stalls_50ms={stalls} stall_ms={Stat.F(stallMs, 0)} longest_gap_ms={Stat.F(longestMs, 1)} " +
                      usage.Figures(n) + " " + JournalWrites(b, queue, 3L * n);

        await Task.WhenAll(workers.Select(w => w.GracefulStop(TimeSpan.FromSeconds(10))));
        var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);

        var pushedIds = pushed.SelectMany(x => x).ToHashSet();
        var completedIds = new HashSet<string>();
        long completedTotal = 0;
        foreach (var set in tracker.CompletedSets)
        {
            completedTotal += set.Count;
            completedIds.UnionWith(set);
        }
        if (pushedIds.Count != n)
            throw new InvalidOperationException($"cycle: {pushedIds.Count} distinct pushed ids, expected {n}");
        if (tracker.Duplicates != 0 || completedTotal != n || !completedIds.SetEquals(pushedIds))
            throw new InvalidOperationException($"cycle: completed {completedTotal} ({completedIds.Count} distinct, {tracker.Duplicates} duplicates), expected each of {n} once");
        if (stats.Ready != 0 || stats.Reserved != 0 || stats.Delayed != 0 || stats.Buried != 0)
            throw new InvalidOperationException($"cycle: queue not empty at the end: {stats}");
        await q.GracefulStop(TimeSpan.FromSeconds(10));
        return new CycleResult(Stat.Seconds(t0, tPushed), Stat.Seconds(t0, tDone), tracker.Redelivered, stats, figures);
    }

    /// <summary>With <c>--trace-sql</c>: prints (and clears) the SQL timings since the last call.</summary>
    private static void TraceSummary(Options o, string what)
    {
        if (o.Double("trace-sql", 0) > 0)
            Console.Error.WriteLine($"# sql during {what}: {SqlTimer.Instance.Summary()}");
    }

    /// <summary>Runs a blocking driver loop on a thread of its own, so it never holds a thread-pool thread.</summary>
    private static Task<T> OnOwnThread<T>(Func<T> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(body());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true, Name = "bench-driver" };
        thread.Start();
        return done.Task;
    }

    private static Task OnOwnThread(Action body) => OnOwnThread(() =>
    {
        body();
        return 0;
    });

    // ================================================================ warm-up

    /// <summary>What the warm-up measured last, to size the measured runs (jobs/s); 0 before it ran.</summary>
    private static double _warmPush, _warmCycle25, _warmCycle1;

    private static bool _warm;

    /// <summary>
    /// Once per process: runs pushes and both cycle shapes on throwaway queues of a bench of their own
    /// for <c>--warmup</c> seconds (default 30), so the JIT has compiled (and re-compiled at tier 1) the
    /// hot paths before anything is measured: after a 10 s warm-up, 18-37% of the CPU was still the JIT.
    /// Its last round's rates size the measured runs (see <see cref="Size"/>).
    /// </summary>
    private static async Task WarmUp(Options o)
    {
        var seconds = o.Double("warmup", 30);
        if (_warm || seconds <= 0)
            return;
        _warm = true;
        var producers = o.Int("producers", 4);
        var consumers = o.Int("consumers", 4);
        var window = o.Int("window", 200);
        var driver = o.Str("driver", "actor");
        await using var b = await Bench.CreateAsync(o);
        var sw = Stopwatch.StartNew();
        var round = 0;
        do
        {
            round++;
            var name = $"warm-push-{round}";
            var q = await b.StartedQueue(name);
            var (pushSeconds, _) = await RunPush(b, q, name, 20_000, producers, window, driver);
            await q.GracefulStop(TimeSpan.FromSeconds(10));
            var c25 = await RunCycle(b, $"warm-s25-{round}", 20_000, producers, consumers, 25, window, driver);
            var c1 = await RunCycle(b, $"warm-s1-{round}", 10_000, producers, consumers, 1, window, driver);
            (_warmPush, _warmCycle25, _warmCycle1) = (20_000 / pushSeconds, 20_000 / c25.CycleSeconds, 10_000 / c1.CycleSeconds);
            Console.Error.WriteLine($"# warm-up round {round}: push {_warmPush:F0}/s, cycle slots=25 {_warmCycle25:F0}/s, slots=1 {_warmCycle1:F0}/s");
        } while (sw.Elapsed.TotalSeconds < seconds);
        TraceSummary(o, "warm-up");
        Console.Error.WriteLine($"# warm-up: {round} rounds (20k pushes, 20k cycles slots=25, 10k cycles slots=1) in {sw.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// How many jobs a measured run takes: the N given, or enough for <c>--seconds</c> (default 5) of
    /// measured work at the warm-up's rate <paramref name="rate"/> (with a margin), at least 50,000.
    /// </summary>
    private static int Size(Options o, int? given, double rate)
    {
        if (given is { } n)
            return n;
        var seconds = o.Double("seconds", 5);
        return (int)Math.Min(20_000_000, Math.Max(50_000, Math.Ceiling(rate * seconds * 1.3 / 1000) * 1000));
    }

    // ================================================================ latency

    private static async Task ModeLatency(Options o, int? count)
    {
        await WarmUp(o);
        // Given M: that many jobs; else as many as --seconds (5) of measured jobs take, at least 1,000.
        var seconds = count is null ? o.Double("seconds", 5) : 0;
        var m = count ?? 1000;
        const int warmIterations = 200;
        await using var b = await Bench.CreateAsync(o);

        var q = await b.StartedQueue("latency");
        var probe = new LatencyProbe();
        var consumer = b.Sys.ActorOf(Props.Create(() => new LatencyConsumer(probe)), "latency-consumer");
        consumer.Tell(new LatencyConsumer.Start(q));
        await Conditions(async () => (await q.Ask<QueueStats>(GetStats.Instance, AskTimeout)).Waiting == 1, "the consumer's reserve waits"); // the queue is idle

        var lat = new List<double>();
        var putRtt = new List<double>();
        var measured = Stopwatch.StartNew();
        // The driver blocks (sleeps, waits): it runs on its own thread, never on a thread-pool thread
        // the actors and the journal need.
        await OnOwnThread(() =>
        {
            for (var i = -warmIterations; i < m || measured.Elapsed.TotalSeconds < seconds; i++)
            {
                Thread.Sleep(1); // idle gap between jobs
                var t0 = Stopwatch.GetTimestamp();
                var ack = q.Ask<IReply>(new Push("latency", Payload100), AskTimeout);
                var reply = ack.GetAwaiter().GetResult();
                var tAck = Stopwatch.GetTimestamp();
                if (reply is not Pushed)
                    throw new InvalidOperationException($"latency: push refused: {reply}");
                if (!probe.Cycled.Wait(TimeSpan.FromSeconds(30)))
                    throw new TimeoutException("latency: no Reserved/Completed within 30 s");
                if (probe.Failure is not null)
                    throw new InvalidOperationException($"latency: consumer got {probe.Failure}");
                if (i < 0)
                {
                    measured.Restart();
                    continue;
                }
                lat.Add(Stat.Us(probe.ReservedAt - t0));
                putRtt.Add(Stat.Us(tAck - t0));
            }
        });
        var measuredSeconds = measured.Elapsed.TotalSeconds;
        await consumer.GracefulStop(TimeSpan.FromSeconds(10));
        var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
        if (stats.Jobs != 0)
            throw new InvalidOperationException($"latency: queue not empty at the end: {stats}");
        var l = lat.ToArray();
        var r = putRtt.ToArray();
        Console.Error.WriteLine($"# latency: {l.Length} jobs (after {warmIterations} unrecorded) in {measuredSeconds:F1} s, push sent -> Reserved received by the waiting consumer");
        Console.WriteLine($"RESULT mode=latency store={b.Store} m={l.Length} measured_s={Stat.F(measuredSeconds, 1)} p50_us={Stat.F(Stat.Pct(l, 50), 1)} p90_us={Stat.F(Stat.Pct(l, 90), 1)} " +
                          $"p99_us={Stat.F(Stat.Pct(l, 99), 1)} max_us={Stat.F(l.Max(), 1)} " +
                          $"put_rtt_p50_us={Stat.F(Stat.Pct(r, 50), 1)} put_rtt_p99_us={Stat.F(Stat.Pct(r, 99), 1)}");
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms for up to 30 s.</summary>
    private static async Task Conditions(Func<Task<bool>> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException($"waited 30 s for: {what}");
            await Task.Delay(10);
        }
    }

    // ================================================================ delayed

    private static async Task ModeDelayed(Options o, int? count)
    {
        var m = count ?? 1000;
        var consumers = o.Int("consumers", 4);
        var slots = o.Int("slots-delayed", o.Int("slots", 1));
        var paceMs = o.Int("pace", 0);
        var delay = TimeSpan.FromSeconds(1);
        await WarmUp(o);
        await using var b = await Bench.CreateAsync(o);

        var q = await b.StartedQueue("delayed");
        var tracker = new Tracker(m);
        var late = new double[m];
        var got = -1;
        var ticksPerMs = Stopwatch.Frequency / 1000.0;
        var verbose = o.Str("verbose", "false") == "true";
        void OnReserved(Reserved r, long at)
        {
            var now = DateTimeOffset.UtcNow;
            var due = r.Job.Payload.Arg<long>(0); // the Stopwatch time the job should be ready at
            var lateness = (at - due) / ticksPerMs;
            late[Interlocked.Increment(ref got)] = lateness;
            if (verbose) // where the time went: before the queue took the push, or after the job's due time there
                Console.Error.WriteLine($"# job {r.Job.Id}: late {lateness:F2} ms; push taken by the queue {(r.Job.CreatedAt - DateTimeOffset.FromUnixTimeMilliseconds(0).AddTicks(r.Job.Payload.Arg<long>(1))).TotalMilliseconds:F2} ms after sending; " +
                                        $"reserved {(now - r.Job.CreatedAt - delay).TotalMilliseconds:F2} ms after its due time in the queue");
        }
        Action<Reserved, long> onReserved = OnReserved;
        var workers = Enumerable.Range(0, consumers)
            .Select(_ => b.Sys.ActorOf(Props.Create(() => new Consumer(tracker, onReserved))))
            .ToArray();
        foreach (var w in workers)
            w.Tell(new Consumer.Start(q, slots, TimeSpan.FromSeconds(30)));
        await Task.Delay(200);

        var acked = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = b.Sys.ActorOf(Props.Create(() => new AckCollector(m, acked)));
        var pad = new string('x', 40);
        await OnOwnThread(() => // it sleeps between pushes: not on a thread-pool thread
        {
            for (var i = 0; i < m; i++)
            {
                if (paceMs > 0)
                    Thread.Sleep(paceMs);
                var sentAt = (DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeMilliseconds(0)).Ticks;
                var due = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
                q.Tell(new Push("delayed", JobPayload.Create("bench", due, sentAt, pad)) { Delay = delay }, collector);
            }
        });
        await Stat.Within(acked.Task, RunTimeout, "delayed pushes");
        await Stat.Within(tracker.Done.Task, RunTimeout, $"delayed consumers ({tracker.CompletedCount} of {m} completed)");
        await Task.WhenAll(workers.Select(w => w.GracefulStop(TimeSpan.FromSeconds(10))));
        var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
        if (stats.Jobs != 0 || tracker.Duplicates != 0)
            throw new InvalidOperationException($"delayed: queue not empty or duplicates at the end: {stats}, duplicates={tracker.Duplicates}");
        Console.Error.WriteLine($"# delayed: {m} jobs with delay 1 s, pace {paceMs} ms, {consumers} consumers x {slots} slots; lateness = Reserved received - (push sent + 1 s)");
        Console.WriteLine($"RESULT mode=delayed store={b.Store} m={m} consumers={consumers} slots={slots} pace_ms={paceMs} " +
                          $"lateness_p50_ms={Stat.F(Stat.Pct(late, 50), 2)} lateness_p90_ms={Stat.F(Stat.Pct(late, 90), 2)} " +
                          $"lateness_p99_ms={Stat.F(Stat.Pct(late, 99), 2)} lateness_max_ms={Stat.F(late.Max(), 2)} lateness_min_ms={Stat.F(late.Min(), 2)}");
    }

    // ================================================================ recovery

    private static async Task ModeRecovery(Options o, int? count)
    {
        var n = count ?? 1_000_000;
        var producers = o.Int("producers", 4);
        var window = o.Int("window", 500);
        var driver = o.Str("driver", "actor");
        const string name = "recovery";
        if (o.Str("postgres", "").Length > 0)
            throw new ArgumentException("recovery runs on SQLite only (it reads the file's sizes and pages)");
        await using var b = await Bench.CreateAsync(o);
        var persistenceId = JobQueueActor.PersistenceIdOf(name);

        var q = await b.StartedQueue(name);
        var (pushSeconds, ids) = await RunPush(b, q, name, n, producers, window, driver);
        var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
        if (stats.Ready != n || ids.Length != n)
            throw new InvalidOperationException($"recovery: {stats.Ready} ready after the pushes, expected {n}");
        Console.Error.WriteLine($"# recovery: {n} jobs pushed in {pushSeconds:F1} s ({n / pushSeconds:F0}/s); waiting for snapshot writes to settle");
        await WaitForSnapshotsToSettle(b.DbPath, persistenceId);
        await b.StopAsync();

        var db = Inspect(b.DbPath, persistenceId);
        var (dbBytes, walBytes) = b.FileSizes();
        Console.Error.WriteLine($"# recovery: journal rows for the queue {db.JournalRows} (seq {db.JournalMinSeq}..{db.JournalMaxSeq}), " +
                                $"snapshots {string.Join(", ", db.Snapshots.Select(s => $"seq {s.Seq} {Stat.Mb(s.Bytes):F1} MB"))}; " +
                                $"db {Stat.Mb(dbBytes):F1} MB ({db.FreePages} of {db.Pages} pages free) + wal {Stat.Mb(walBytes):F1} MB");

        // Cold: a new process, as after a crash or a deploy, --cold-runs times (3), the median reported. This
        // process lets go of its own million jobs first, so the child has the machine to itself.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true); // gives the memory back to the OS
        var runs = new List<Dictionary<string, string>>();
        for (var run = 0; run < o.Int("cold-runs", 3); run++)
        {
            runs.Add(await OnOwnThread(() => RunChild(o, b.DbPath, n)));
            Console.Error.WriteLine($"# recovery (new process) {run + 1}: {string.Join(' ', runs[^1].Select(kv => $"{kv.Key}={kv.Value}"))}");
        }
        var child = runs.OrderBy(r => double.Parse(r["recovery_s"], System.Globalization.CultureInfo.InvariantCulture)).ElementAt(runs.Count / 2);
        var coldRuns = string.Join(",", runs.Select(r => r["recovery_s"]));

        // Warm: a new ActorSystem in this process (JIT already done).
        var sys = b.Start();
        var t0 = Stopwatch.GetTimestamp();
        var q2 = b.Queue(name);
        var recovered = await q2.Ask<QueueStats>(GetStats.Instance, TimeSpan.FromMinutes(5));
        var warmSeconds = Stat.Seconds(t0, Stopwatch.GetTimestamp());
        if (recovered.Ready != n)
            throw new InvalidOperationException($"recovery (warm): {recovered.Ready} ready, expected {n}");
        GC.KeepAlive(sys);

        var snapshot = db.Snapshots.OrderByDescending(s => s.Seq).FirstOrDefault();
        Console.WriteLine($"RESULT mode=recovery n={n} ready={child["ready"]} recovery_s={child["recovery_s"]} recovery_runs_s={coldRuns} recovery_warm_s={Stat.F(warmSeconds, 3)} " +
                          $"working_set_mb={child["working_set_mb"]} peak_working_set_mb={child["peak_working_set_mb"]} managed_mb={child["managed_mb"]} gc_committed_mb={child["gc_committed_mb"]} " +
                          $"snapshot_every={b.Settings.SnapshotEvery} snapshot_seq={snapshot.Seq} snapshot_mb={Stat.F(Stat.Mb(snapshot.Bytes), 1)} " +
                          $"journal_rows={db.JournalRows} events_to_replay={db.EventsAfterSnapshot} " +
                          $"db_mb={Stat.F(Stat.Mb(dbBytes), 1)} wal_mb={Stat.F(Stat.Mb(walBytes), 1)} db_free_pages_pct={Stat.F(100.0 * db.FreePages / Math.Max(1, db.Pages), 0)} " +
                          $"push_s={Stat.F(pushSeconds, 1)} push_jobs_per_s={Stat.F(n / pushSeconds, 0)}");
    }

    /// <summary>Recovers the queue in this process (started by <see cref="RunChild"/>) and prints one CHILD line.</summary>
    private static async Task ModeRecoveryChild(Options o)
    {
        var dbPath = o.Str("db", "");
        var n = o.N ?? throw new ArgumentException("recovery-child needs N");
        var busyTimeout = o.Int("busy-timeout", 0);
        var traceSql = o.Double("trace-sql", 0);
        var sys = ActorSystem.Create("bench", busyTimeout > 0 || traceSql > 0
            ? Bench.DiagnosticSetup(dbPath, Bench.MakeConfig(o), busyTimeout, traceSql)
            : SqlitePersistence.Setup(dbPath, Bench.MakeConfig(o)));
        var settings = LindaSettings.Create(sys);
        var t0 = Stopwatch.GetTimestamp();
        var q = sys.ActorOf(JobQueueActor.Props("recovery", settings), "queue-recovery");
        var stats = await q.Ask<QueueStats>(GetStats.Instance, TimeSpan.FromMinutes(5));
        var seconds = Stat.Seconds(t0, Stopwatch.GetTimestamp());
        using var process = Process.GetCurrentProcess();
        var peakBeforeGc = process.PeakWorkingSet64;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        process.Refresh();
        Console.WriteLine($"CHILD recovery_s={Stat.F(seconds, 3)} ready={stats.Ready} working_set_mb={Stat.F(Stat.Mb(process.WorkingSet64), 0)} " +
                          $"peak_working_set_mb={Stat.F(Stat.Mb(Math.Max(peakBeforeGc, process.PeakWorkingSet64)), 0)} " +
                          $"managed_mb={Stat.F(Stat.Mb(GC.GetTotalMemory(false)), 0)} gc_committed_mb={Stat.F(Stat.Mb(GC.GetGCMemoryInfo().TotalCommittedBytes), 0)}");
        if (stats.Ready != n)
            throw new InvalidOperationException($"recovery-child: {stats.Ready} ready, expected {n}");
        GC.KeepAlive(q);
        await sys.Terminate();
    }

    private static Dictionary<string, string> RunChild(Options o, string dbPath, int n)
    {
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
            psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("recovery-child");
        psi.ArgumentList.Add(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.ArgumentList.Add("--db=" + dbPath);
        foreach (var a in o.Raw)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start the child");
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("CHILD ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null)
            throw new InvalidOperationException($"recovery child failed (exit {p.ExitCode}): {output}");
        return line["CHILD ".Length..].Trim().Split(' ').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    /// <summary>
    /// How the queue's events went to the journal: one row per write, so the highest sequence number
    /// (in the journal or a snapshot: rows a snapshot covers are deleted) counts the writes, and
    /// <paramref name="events"/> (how many the run applied) over it is the events per write.
    /// </summary>
    private static string JournalWrites(Bench b, string queue, long events)
    {
        using var c = b.OpenDatabase();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(MAX(sequence_number), 0) FROM (SELECT sequence_number FROM journal WHERE persistence_id = @p " +
                          "UNION ALL SELECT sequence_number FROM snapshot WHERE persistence_id = @p) AS s";
        var p = cmd.CreateParameter();
        p.ParameterName = "@p";
        p.Value = JobQueueActor.PersistenceIdOf(queue);
        cmd.Parameters.Add(p);
        var writes = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        return $"journal_writes={writes} events_per_write={Stat.F(events / (double)Math.Max(1, writes), 1)}";
    }

    private sealed record DbInfo(long JournalRows, long JournalMinSeq, long JournalMaxSeq, long EventsAfterSnapshot,
        List<(long Seq, long Bytes)> Snapshots, long Pages, long FreePages);

    private static SqliteConnection OpenReadOnly(string dbPath)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    private static DbInfo Inspect(string dbPath, string persistenceId)
    {
        using var c = OpenReadOnly(dbPath);
        long Scalar(string sql)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.Parameters.AddWithValue("$p", persistenceId);
            return cmd.ExecuteScalar() is long v ? v : 0;
        }
        var rows = Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = $p");
        var minSeq = Scalar("SELECT MIN(sequence_number) FROM journal WHERE persistence_id = $p");
        var maxSeq = Scalar("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $p");
        var snapshots = new List<(long, long)>();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT sequence_number, length(snapshot) FROM snapshot WHERE persistence_id = $p ORDER BY sequence_number";
            cmd.Parameters.AddWithValue("$p", persistenceId);
            using var r = cmd.ExecuteReader();
            while (r.Read())
                snapshots.Add((r.GetInt64(0), r.GetInt64(1)));
        }
        var snapshotSeq = snapshots.Count == 0 ? 0 : snapshots.Max(s => s.Item1);
        var afterSnapshot = Scalar($"SELECT COUNT(*) FROM journal WHERE persistence_id = $p AND deleted = 0 AND sequence_number > {snapshotSeq}");
        return new DbInfo(rows, minSeq, maxSeq, afterSnapshot, snapshots, Scalar("PRAGMA page_count"), Scalar("PRAGMA freelist_count"));
    }

    /// <summary>Waits until the queue's newest snapshot has not changed for 2 s (at most 60 s), so stopping the system loses no snapshot write.</summary>
    private static async Task WaitForSnapshotsToSettle(string dbPath, string persistenceId)
    {
        var sw = Stopwatch.StartNew();
        long last = -1;
        var stableSince = TimeSpan.Zero;
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            long seq;
            using (var c = OpenReadOnly(dbPath))
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "SELECT COALESCE(MAX(sequence_number), 0) FROM snapshot WHERE persistence_id = $p";
                cmd.Parameters.AddWithValue("$p", persistenceId);
                seq = (long)cmd.ExecuteScalar()!;
            }
            if (seq != last)
            {
                last = seq;
                stableSince = sw.Elapsed;
            }
            else if (sw.Elapsed - stableSince > TimeSpan.FromSeconds(2))
            {
                return;
            }
            await Task.Delay(250);
        }
    }
}
