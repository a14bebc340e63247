using System.Diagnostics;
using System.Globalization;
using Linda.Tests.Infrastructure;
using Npgsql;

namespace Linda.Benchmarks;

internal static partial class Program
{
    // ================================================================ cluster-workers

    /// <summary>One way of laying out the work: the placement, the queues and their partitions.</summary>
    private sealed record ClusterLayout(string Name, string Placement, IReadOnlyList<string> Queues, IReadOnlyDictionary<string, int> Partitions)
    {
        /// <summary>The queue actors it makes: each queue, or each partition of a partitioned one.</summary>
        public IReadOnlyList<string> Actors => Queues
            .SelectMany(q => Partitions.TryGetValue(q, out var p) && p > 1 ? Enumerable.Range(0, p).Select(i => QueuePartitions.NameOf(q, i)) : [q])
            .ToArray();
    }

    private static readonly Dictionary<string, ClusterLayout> ClusterLayouts = new()
    {
        ["singleton"] = new("singleton", "singleton", ["jobs"], new Dictionary<string, int>()),
        ["p1"] = new("p1", "sharded", ["jobs"], new Dictionary<string, int>()),
        ["p3"] = new("p3", "sharded", ["jobs"], new Dictionary<string, int> { ["jobs"] = 3 }),
        ["p6"] = new("p6", "sharded", ["jobs"], new Dictionary<string, int> { ["jobs"] = 6 }),
        ["q6"] = new("q6", "sharded", ["q0", "q1", "q2", "q3", "q4", "q5"], new Dictionary<string, int>()),
    };

    /// <summary>Three node processes on one PostgreSQL server (tests/Linda.Tests.ClusterNode).</summary>
    private const int ClusterNodes = 3;

    /// <summary>
    /// The workers benchmark on a cluster: for each layout of <c>--layouts</c> (default: all, in the
    /// order singleton, p1, p3, p6, q6: the singleton placement with one queue; the sharded placement with
    /// one queue of 1, 3 and 6 partitions; six queues of one actor), three node processes on a fresh
    /// database of one durable PostgreSQL server (fsync on), each with <c>--workers=12</c> workers (split
    /// over its queues) running a handler that only counts. A round: every queue paused, N jobs of 100
    /// bytes pushed, a third through each node's ILindaClient (<c>--window=500</c> in flight per node,
    /// round robin over the queues, ids the queues make), then the queues resumed and drained by the
    /// workers of all three nodes: timed to the N-th handler run and to every queue answering GetStats
    /// empty (every Complete is in the journal). Warm-up rounds of <c>--warmup-jobs=10000</c> first:
    /// at least <c>--warmup=20</c> s, then until the JIT's tiering thread took under
    /// <c>--jit-settled=5</c>% of the nodes' CPU over the last three rounds, at most <c>--warmup-max=60</c> s. After the
    /// measured round, a trickle of <c>--trickle-jobs=1500</c> pushes, one at a time from each node, so
    /// that nearly every push is a journal row of its own: what a row costs beyond its events.
    /// Per phase: CPU of each node process and of PostgreSQL (all its processes) from /proc; journal
    /// rows (Linda writes one row, an EventBatch, per write of a queue: the sum over the queues'
    /// persistence ids of the highest sequence number, in the journal or a snapshot, since snapshots
    /// delete the rows they cover); PostgreSQL's writing transactions (transaction ids handed out: every
    /// journal write, and the few snapshot saves and deletes; reads get none); WAL bytes.
    /// <c>--runs=N</c> repeats every layout N times and reports medians.
    /// </summary>
    private static async Task ModeClusterWorkers(Options o, int? count)
    {
        var n = count ?? 50_000;
        var settings = new ClusterBenchSettings(
            Jobs: n,
            WarmupJobs: o.Int("warmup-jobs", 10_000),
            WorkersPerNode: o.Int("workers", 12),
            Window: o.Int("window", 500),
            Warmup: TimeSpan.FromSeconds(o.Double("warmup", 20)),
            WarmupMax: TimeSpan.FromSeconds(o.Double("warmup-max", 60)),
            JitSettledPct: o.Double("jit-settled", 5),
            Profile: o.Str("profile", "fast"),
            // Rebalance every second (default 10 s) so a layout is spread over the three nodes before it is measured.
            NodeConfig: "linda.sharding.rebalance-interval = 1s\n" + o.Str("node-config", ""),
            PhaseBound: TimeSpan.FromSeconds(o.Double("phase-timeout", 120)),
            TrickleJobs: o.Int("trickle-jobs", 1_500),
            ToastCompression: o.Str("toast-compression", ""));
        var layouts = o.Str("layouts", "singleton,p1,p3,p6,q6").Split(',')
            .Select(l => ClusterLayouts.TryGetValue(l, out var layout) ? layout : throw new ArgumentException($"--layouts: unknown layout '{l}' ({string.Join(", ", ClusterLayouts.Keys)})"))
            .ToArray();
        var runs = o.Int("runs", 1);

        await using var server = await PostgresServer.StartAsync(durable: true);
        var results = new List<ClusterRun>();
        for (var run = 1; run <= runs; run++)
        {
            foreach (var layout in layouts)
            {
                var r = await ClusterWorkersOnce(settings, layout, server, run);
                results.Add(r);
                Console.WriteLine(r.ResultLine(settings));
            }
        }
        PrintClusterTable(results, layouts, runs, settings);
    }

    private sealed record ClusterBenchSettings(int Jobs, int WarmupJobs, int WorkersPerNode, int Window, TimeSpan Warmup, TimeSpan WarmupMax, double JitSettledPct,
        string Profile, string NodeConfig, TimeSpan PhaseBound,
        int TrickleJobs, string ToastCompression);

    /// <summary>What was counted at one moment: CPU (seconds) and the database's counters.</summary>
    private sealed record ClusterSample(long At, double[] Nodes, double Postgres, double Driver, double MachineBusy, double MachineTotal, long Rows, long Xids, long WalBytes,
        Dictionary<int, double> JitThreads, long AllocatedBytes, double GcPauseMs, long[] Ran);

    /// <summary>What happened between two samples.</summary>
    private sealed record ClusterPhase(double Seconds, double[] NodeCpu, double PostgresCpu, double DriverCpu, double MachineBusyPct, double MachineBusySeconds,
        long Rows, long Transactions, long WalBytes, double JitSeconds, long AllocatedBytes, double GcPauseSeconds, long[] RanByNode)
    {
        public static ClusterPhase Between(ClusterSample a, ClusterSample b) => new(
            Stat.Seconds(a.At, b.At),
            a.Nodes.Zip(b.Nodes, (x, y) => y - x).ToArray(),
            b.Postgres - a.Postgres,
            b.Driver - a.Driver,
            100 * (b.MachineBusy - a.MachineBusy) / Math.Max(1e-9, b.MachineTotal - a.MachineTotal),
            b.MachineBusy - a.MachineBusy,
            b.Rows - a.Rows,
            b.Xids - a.Xids,
            b.WalBytes - a.WalBytes,
            ProcCpu.Since(a.JitThreads, b.JitThreads),
            b.AllocatedBytes - a.AllocatedBytes,
            (b.GcPauseMs - a.GcPauseMs) / 1000,
            a.Ran.Zip(b.Ran, (x, y) => y - x).ToArray());

        /// <summary>CPU seconds of the nodes and PostgreSQL together.</summary>
        public double Cpu => NodeCpu.Sum() + PostgresCpu;

        /// <summary>CPU seconds the machine was busy with other work (other users' builds, the kernel's own threads).</summary>
        public double OtherCpu => MachineBusySeconds - Cpu - DriverCpu;

        public double UsPer(double what) => Cpu * 1e6 / Math.Max(1, what);
    }

    private sealed record ClusterRun(string Layout, int Run, int Jobs, ClusterPhase Push, ClusterPhase Drain, double HandledSeconds,
        long Events, long PushEvents, string Placement, string Spread, bool Moved, long Redelivered, ClusterPhase Trickle, int TrickleJobs)
    {
        /// <summary>
        /// What one journal row costs PostgreSQL beyond the events in it: the trickle's PostgreSQL CPU less
        /// what its pushes cost PostgreSQL in the batched push phase, over the trickle's rows.
        /// </summary>
        public double PostgresRowUs => (Trickle.PostgresCpu - TrickleJobs * Push.PostgresCpu / Jobs) * 1e6 / Math.Max(1, Trickle.Rows);

        /// <summary>
        /// The nodes' CPU per push in the trickle, beyond a batched push's: not a row's cost alone; a node
        /// that is nearly idle also spends CPU waiting for work (its threads spin before they sleep).
        /// </summary>
        public double TrickleNodeUsPerPush => (Trickle.NodeCpu.Sum() - TrickleJobs * Push.NodeCpu.Sum() / Jobs) * 1e6 / Math.Max(1, TrickleJobs);

        public double PushRate => Jobs / Push.Seconds;
        public double DrainRate => Jobs / Drain.Seconds;
        public double CycleRate => Jobs / (Push.Seconds + Drain.Seconds);
        public long Rows => Push.Rows + Drain.Rows;
        public long Transactions => Push.Transactions + Drain.Transactions;
        public double Seconds => Push.Seconds + Drain.Seconds;
        public double RowsPerSecond => Rows / Seconds;
        public double EventsPerRow => Events / (double)Math.Max(1, Rows);
        public double RowsPerTransaction => Rows / (double)Math.Max(1, Transactions);
        public double Cpu => Push.Cpu + Drain.Cpu;
        public double NodeCpu => Push.NodeCpu.Sum() + Drain.NodeCpu.Sum();
        public double PostgresCpu => Push.PostgresCpu + Drain.PostgresCpu;
        public double CpuUsPerJob => Cpu * 1e6 / Jobs;
        public double NodeUsPerJob => NodeCpu * 1e6 / Jobs;
        public double PostgresUsPerJob => PostgresCpu * 1e6 / Jobs;
        public double CpuUsPerRow => Cpu * 1e6 / Math.Max(1, Rows);
        public double PostgresUsPerTransaction => PostgresCpu * 1e6 / Math.Max(1, Transactions);
        public double JitShare => (Push.JitSeconds + Drain.JitSeconds) / Math.Max(1e-9, NodeCpu);

        public string ResultLine(ClusterBenchSettings s)
        {
            string Phase(string name, ClusterPhase p, long events) =>
                $"{name}_s={Stat.F(p.Seconds, 3)} {name}_rows={p.Rows} {name}_rows_per_s={Stat.F(p.Rows / p.Seconds, 0)} {name}_events_per_row={Stat.F(events / (double)Math.Max(1, p.Rows), 1)} " +
                $"{name}_transactions={p.Transactions} {name}_rows_per_transaction={Stat.F(p.Rows / (double)Math.Max(1, p.Transactions), 2)} {name}_wal_bytes_per_job={Stat.F(p.WalBytes / (double)Jobs, 0)} " +
                $"{name}_node_cpu_s={string.Join(",", p.NodeCpu.Select(c => Stat.F(c, 2)))} {name}_pg_cpu_s={Stat.F(p.PostgresCpu, 2)} {name}_driver_cpu_s={Stat.F(p.DriverCpu, 2)} " +
                $"{name}_cpu_us_per_job={Stat.F(p.UsPer(Jobs), 1)} {name}_cpu_us_per_row={Stat.F(p.UsPer(p.Rows), 1)} {name}_machine_busy_pct={Stat.F(p.MachineBusyPct, 0)} {name}_other_cpu_s={Stat.F(p.OtherCpu, 2)} " +
                $"{name}_jit_s={Stat.F(p.JitSeconds, 2)} {name}_alloc_bytes_per_job={Stat.F(p.AllocatedBytes / (double)Jobs, 0)} {name}_gc_pause_s={Stat.F(p.GcPauseSeconds, 2)}";
            return $"RESULT mode=cluster-workers layout={Layout} run={Run} n={Jobs} nodes={ClusterNodes} workers_per_node={s.WorkersPerNode} window={s.Window} " +
                   $"push_jobs_per_s={Stat.F(PushRate, 0)} drain_jobs_per_s={Stat.F(DrainRate, 0)} handled_s={Stat.F(HandledSeconds, 3)} cycle_jobs_per_s={Stat.F(CycleRate, 0)} " +
                   $"rows_per_s={Stat.F(RowsPerSecond, 0)} events_per_row={Stat.F(EventsPerRow, 1)} rows_per_transaction={Stat.F(RowsPerTransaction, 2)} " +
                   $"cpu_us_per_job={Stat.F(CpuUsPerJob, 1)} node_us_per_job={Stat.F(NodeUsPerJob, 1)} pg_us_per_job={Stat.F(PostgresUsPerJob, 1)} " +
                   $"cpu_us_per_row={Stat.F(CpuUsPerRow, 1)} pg_us_per_transaction={Stat.F(PostgresUsPerTransaction, 1)} jit_thread_pct_of_node_cpu={Stat.F(100 * JitShare, 1)} " +
                   $"{Phase("push", Push, PushEvents)} {Phase("drain", Drain, Events - PushEvents)} " +
                   $"trickle_jobs={TrickleJobs} trickle_s={Stat.F(Trickle.Seconds, 3)} trickle_rows={Trickle.Rows} trickle_events_per_row={Stat.F(TrickleJobs / (double)Math.Max(1, Trickle.Rows), 2)} " +
                   $"trickle_node_cpu_s={string.Join(",", Trickle.NodeCpu.Select(c => Stat.F(c, 2)))} trickle_pg_cpu_s={Stat.F(Trickle.PostgresCpu, 2)} " +
                   $"trickle_cpu_us_per_row={Stat.F(Trickle.UsPer(Trickle.Rows), 0)} pg_row_cost_us={Stat.F(PostgresRowUs, 0)} trickle_node_extra_us_per_push={Stat.F(TrickleNodeUsPerPush, 0)} " +
                   $"drain_ran_by_node={string.Join("/", Drain.RanByNode)} spread={Spread} placement={Placement} moved={(Moved ? "yes" : "no")} redelivered={Redelivered}";
        }
    }

    private static async Task<ClusterRun> ClusterWorkersOnce(ClusterBenchSettings s, ClusterLayout layout, PostgresServer server, int run)
    {
        var db = await server.CreateDatabaseAsync();
        if (s.ToastCompression.Length > 0)
        {
            // An experiment: how PostgreSQL compresses the rows' and snapshots' large values (pglz by default; lz4 is cheaper).
            await using var admin = new NpgsqlConnection(server.ConnectionString("postgres"));
            await admin.OpenAsync();
            var name = new NpgsqlConnectionStringBuilder(db).Database;
            await using var alter = new NpgsqlCommand($"ALTER DATABASE {name} SET default_toast_compression = '{s.ToastCompression.Replace("'", "''")}'", admin);
            await alter.ExecuteNonQueryAsync();
        }
        var bound = s.PhaseBound;
        var nodes = new List<ClusterNodeProcess>();
        var workers = Math.Max(1, s.WorkersPerNode / layout.Queues.Count);
        ClusterNodeProcess StartNode(string name, string[] seeds)
        {
            var node = ClusterNodeProcess.Start(name, TestPrograms.FreePort(), seeds, db, s.Profile, workers, pushWindow: s.Window, hocon: s.NodeConfig,
                placement: layout.Placement, queues: layout.Queues, partitions: layout.Partitions, watch: false);
            nodes.Add(node);
            return node;
        }
        try
        {
            var first = StartNode($"r{run}{layout.Name}n0", []);
            await Within(first.Up, bound, "the first node Up");
            for (var i = 1; i < ClusterNodes; i++)
                StartNode($"r{run}{layout.Name}n{i}", [first.Address]);
            await Within(Task.WhenAll(nodes.Select(x => x.Up)), bound, "every node Up");
            var placement = await SpreadOut(nodes, layout, bound);
            Console.Error.WriteLine($"# cluster-workers {layout.Name} run {run}: {Placement(nodes, placement)}");

            await using var counters = await ClusterCounters.OpenAsync(server, db, nodes, layout.Queues);
            // Warm-up rounds for at least --warmup seconds, then until the JIT's tiering thread took less
            // than --jit-settled percent of the nodes' CPU in a round (at most --warmup-max seconds): a
            // node's first tens of seconds of work are mostly compiling; a node that has run a while is past it.
            var pushed = 0L;
            var warming = Stopwatch.StartNew();
            var recent = new Queue<(double Jit, double Cpu)>();
            for (var w = 0; s.WarmupJobs > 0; w++)
            {
                var warm = await ClusterRound(s, nodes, counters, $"warm{w}-", s.WarmupJobs, pushed, bound);
                pushed += s.WarmupJobs;
                var (jit, cpu) = (warm.Push.JitSeconds + warm.Drain.JitSeconds, warm.Push.NodeCpu.Sum() + warm.Drain.NodeCpu.Sum());
                Console.Error.WriteLine($"# cluster-workers {layout.Name} run {run}: warm-up {w + 1}, {s.WarmupJobs} jobs: push {s.WarmupJobs / warm.Push.Seconds:F0}/s, " +
                                        $"drain {s.WarmupJobs / warm.Drain.Seconds:F0}/s, the JIT's tiering thread {100 * jit / Math.Max(1e-9, cpu):F0}% of the nodes' CPU");
                // Settled: the tiering thread's share over the last few rounds (one round is too short to tell).
                recent.Enqueue((jit, cpu));
                if (recent.Count > JitSettledRounds)
                    recent.Dequeue();
                var settled = recent.Count == JitSettledRounds && 100 * recent.Sum(r => r.Jit) / Math.Max(1e-9, recent.Sum(r => r.Cpu)) < s.JitSettledPct;
                if (warming.Elapsed >= s.WarmupMax || warming.Elapsed >= s.Warmup && settled)
                    break;
            }
            var round = await ClusterRound(s, nodes, counters, "run", s.Jobs, pushed, bound);
            pushed += s.Jobs;
            // A row per push: one push at a time from each node, so nearly every push is a journal write of its own.
            var trickle = s.TrickleJobs > 0 ? await ClusterRound(s, nodes, counters, "trickle", s.TrickleJobs, pushed, bound, inFlight: 1) : round;
            pushed += s.TrickleJobs;
            var after = await WhereAll(nodes, bound);
            var counts = await Task.WhenAll(nodes.Select(x => x.CountsAsync(bound)));
            var ran = counts.Sum(c => c?.Ran ?? 0);
            if (ran != pushed)
                throw new InvalidOperationException($"cluster-workers {layout.Name}: the handler ran {ran} times for {pushed} jobs pushed");
            var moved = !SamePlacement(after, placement);
            // Events the queues applied: push, JobPushed; drain, JobReserved and JobCompleted per job, and one QueueResumed per queue actor.
            var result = new ClusterRun(layout.Name, run, s.Jobs, round.Push, round.Drain, round.HandledSeconds,
                Events: 3L * s.Jobs + layout.Actors.Count, PushEvents: s.Jobs,
                Placement: Placement(nodes, after), Spread: string.Join("/", after.Select(a => a.Count)), Moved: moved,
                Redelivered: counts.Sum(c => c?.Redelivered ?? 0),
                Trickle: trickle.Push, TrickleJobs: s.TrickleJobs);
            Console.Error.WriteLine($"# cluster-workers {layout.Name} run {run}: push {result.PushRate:F0}/s, drain {result.DrainRate:F0}/s, " +
                                    $"{result.RowsPerSecond:F0} rows/s, {result.EventsPerRow:F1} events/row, {result.RowsPerTransaction:F2} rows/transaction, " +
                                    $"CPU {result.CpuUsPerJob:F1} us/job (nodes {result.NodeUsPerJob:F1}, PostgreSQL {result.PostgresUsPerJob:F1}), {result.CpuUsPerRow:F0} us/row; " +
                                    $"machine busy {round.Push.MachineBusyPct:F0}% / {round.Drain.MachineBusyPct:F0}%{(moved ? "; a queue actor MOVED during the round" : "")}");
            return result;
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

    private sealed record ClusterRoundResult(ClusterPhase Push, ClusterPhase Drain, double HandledSeconds);

    /// <summary>
    /// One round: pause, push <paramref name="jobs"/> (a third through each node), resume, wait for every
    /// handler run (<paramref name="before"/> jobs ran in earlier rounds) and for every queue to be empty.
    /// </summary>
    private static async Task<ClusterRoundResult> ClusterRound(ClusterBenchSettings s, List<ClusterNodeProcess> nodes, ClusterCounters counters, string tag,
        int jobs, long before, TimeSpan bound, int? inFlight = null)
    {
        if (!await nodes[0].PauseAsync(bound))
            throw new InvalidOperationException($"cluster-workers: the queues did not pause ({nodes[0].RecentLog()})");
        var start = await counters.SampleAsync();
        var per = jobs / nodes.Count;
        var loads = nodes.Select((node, i) => node.LoadAsync($"{tag}{i}", i == nodes.Count - 1 ? jobs - per * (nodes.Count - 1) : per, inFlight)).ToArray();
        var replies = await Stat.Within(Task.WhenAll(loads), bound, "the pushes");
        if (replies.Sum(r => r.Nacked) is var nacked and > 0)
            throw new InvalidOperationException($"cluster-workers: {nacked} of {jobs} pushes not acknowledged");
        var pushed = await counters.SampleAsync();

        if (!await nodes[0].ResumeAsync(bound))
            throw new InvalidOperationException($"cluster-workers: the queues did not resume ({nodes[0].RecentLog()})");
        var target = before + jobs;
        var handledAt = 0L;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var counts = await Task.WhenAll(nodes.Select(node => node.CountsAsync(bound)));
            if (counts.Sum(c => c?.Ran ?? 0) >= target)
            {
                handledAt = Stopwatch.GetTimestamp();
                break;
            }
            if (deadline.Elapsed > bound)
                throw new TimeoutException($"cluster-workers: {counts.Sum(c => c?.Ran ?? 0) - before} of {jobs} jobs ran within {bound.TotalSeconds:0} s");
            await Task.Delay(CountPoll);
        }
        // GetStats is answered after every write before it: a queue that says it has no job has every Complete in the journal.
        foreach (var queue in counters.Queues)
        {
            while (await nodes[0].StatsAsync(bound, queue) is not { Jobs: 0 })
            {
                if (deadline.Elapsed > bound)
                    throw new TimeoutException($"cluster-workers: queue {queue} not empty within {bound.TotalSeconds:0} s");
            }
        }
        var drained = await counters.SampleAsync();
        return new ClusterRoundResult(ClusterPhase.Between(start, pushed), ClusterPhase.Between(pushed, drained), Stat.Seconds(pushed.At, handledAt));
    }

    /// <summary>Over how many warm-up rounds the JIT's share must be under --jit-settled.</summary>
    private const int JitSettledRounds = 3;

    /// <summary>How often the drain asks the nodes how many jobs ran.</summary>
    private static readonly TimeSpan CountPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Waits until every queue actor of the layout runs on exactly one node and the nodes hold them evenly
    /// (at most one apart), the same in two looks in a row; returns each node's. A layout that does not
    /// spread within the bound is measured as it is (and says so).
    /// </summary>
    private static async Task<IReadOnlyList<string>[]> SpreadOut(List<ClusterNodeProcess> nodes, ClusterLayout layout, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<string>[]? last = null;
        while (true)
        {
            var now = await WhereAll(nodes, bound);
            var all = now.SelectMany(w => w).ToArray();
            var even = all.Length == layout.Actors.Count && all.Distinct().Count() == all.Length && now.Max(w => w.Count) - now.Min(w => w.Count) <= 1;
            var single = layout.Actors.Count < nodes.Count && all.Length == layout.Actors.Count && all.Distinct().Count() == all.Length;
            if ((even || single) && last is not null && SamePlacement(now, last))
                return now;
            if (clock.Elapsed > bound)
            {
                Console.Error.WriteLine($"# cluster-workers {layout.Name}: not spread out after {bound.TotalSeconds:0} s: {Placement(nodes, now)}");
                return now;
            }
            last = now;
            await Task.Delay(SpreadPoll);
        }
    }

    /// <summary>How often <see cref="SpreadOut"/> looks where the queues are.</summary>
    private static readonly TimeSpan SpreadPoll = TimeSpan.FromMilliseconds(500);

    private static bool SamePlacement(IReadOnlyList<string>[] a, IReadOnlyList<string>[] b) =>
        a.Length == b.Length && a.Zip(b, (x, y) => x.Order().SequenceEqual(y.Order())).All(same => same);

    private static async Task<IReadOnlyList<string>[]> WhereAll(List<ClusterNodeProcess> nodes, TimeSpan bound) =>
        (await Task.WhenAll(nodes.Select(node => node.WhereAsync(bound)))).Select(w => w ?? []).ToArray();

    private static string Placement(List<ClusterNodeProcess> nodes, IReadOnlyList<string>[] where) =>
        string.Join(";", nodes.Select((node, i) => $"n{i}:{string.Join(",", where[i].Order())}"));

    /// <summary>Reads the CPU of the nodes, PostgreSQL, this process and the machine, and PostgreSQL's write counters.</summary>
    private sealed class ClusterCounters : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;
        private readonly List<ClusterNodeProcess> _nodes;
        private readonly int[] _pids;
        private readonly int _postgres;

        private ClusterCounters(NpgsqlConnection connection, List<ClusterNodeProcess> nodes, int postgres, IReadOnlyList<string> queues)
        {
            _connection = connection;
            _nodes = nodes;
            _pids = nodes.Select(x => x.ProcessId).ToArray();
            _postgres = postgres;
            Queues = queues;
        }

        /// <summary>The queues the nodes serve (what GetStats is asked of).</summary>
        public IReadOnlyList<string> Queues { get; }

        public static async Task<ClusterCounters> OpenAsync(PostgresServer server, string db, List<ClusterNodeProcess> nodes, IReadOnlyList<string> queues)
        {
            var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(db) { Pooling = false }.ToString());
            await connection.OpenAsync();
            return new ClusterCounters(connection, nodes, server.ServerProcessId, queues);
        }

        public async Task<ClusterSample> SampleAsync()
        {
            var runtimes = await Task.WhenAll(_nodes.Select(node => node.CountsAsync(TimeSpan.FromSeconds(30))));
            // Rows: every queue's highest sequence number (one per row Linda wrote), in the journal or a
            // snapshot (a snapshot deletes the rows it covers). Transactions: the next transaction id
            // (reads and this query take none). WAL: the current write position in bytes.
            await using var command = new NpgsqlCommand(
                """
                SELECT
                  (SELECT COALESCE(SUM(seq), 0) FROM (
                     SELECT persistence_id, MAX(sequence_number) AS seq FROM (
                       SELECT persistence_id, sequence_number FROM journal WHERE persistence_id LIKE 'linda-queue-%'
                       UNION ALL SELECT persistence_id, sequence_number FROM snapshot WHERE persistence_id LIKE 'linda-queue-%') AS s
                     GROUP BY persistence_id) AS q)::bigint,
                  pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
                  (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint
                """, _connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (rows, xids, wal) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            var at = Stopwatch.GetTimestamp();
            var machine = ProcCpu.Machine();
            using var self = Process.GetCurrentProcess();
            return new ClusterSample(at, _pids.Select(ProcCpu.ProcessSeconds).ToArray(), ProcCpu.ServerSeconds(_postgres), self.TotalProcessorTime.TotalSeconds,
                machine.Busy, machine.Total, rows, xids, wal,
                _pids.SelectMany(pid => ProcCpu.ThreadSeconds(pid, TieringThread)).ToDictionary(), runtimes.Sum(r => r?.AllocatedBytes ?? 0), runtimes.Sum(r => r?.GcPauseMs ?? 0),
                runtimes.Select(r => r?.Ran ?? 0).ToArray());
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();

        /// <summary>The thread of the JIT's background compiler (tier 1); the first tier compiles on the calling thread.</summary>
        private const string TieringThread = ".NET Tiered Compilation Worker";
    }

    // ---------------------------------------------------------------- the table

    private static void PrintClusterTable(List<ClusterRun> results, ClusterLayout[] layouts, int runs, ClusterBenchSettings s)
    {
        double Median(IEnumerable<double> values) => Stat.Pct(values.ToArray(), 50);
        var rows = layouts.Select(l => (Layout: l, Runs: results.Where(r => r.Layout == l.Name).ToList())).ToList();
        var baseline = rows.FirstOrDefault(r => r.Layout.Name == "singleton").Runs ?? rows[0].Runs;
        double Base(Func<ClusterRun, double> f) => Median(baseline.Select(f));
        string Cell(List<ClusterRun> rs, Func<ClusterRun, double> f, int decimals, bool ratio = false)
        {
            var m = Median(rs.Select(f));
            return m.ToString("N" + decimals, CultureInfo.InvariantCulture) + (ratio && rs != baseline ? $" ({Stat.F(m / Base(f), 2)}x)" : "");
        }
        string Us(double v) => v.ToString("N0", CultureInfo.InvariantCulture);

        Console.WriteLine();
        Console.WriteLine($"cluster-workers: {ClusterNodes} node processes + 1 PostgreSQL (fsync on), {s.Jobs} jobs of 100 bytes per round after the " +
                          $"warm-up, {s.WorkersPerNode} workers per node, {s.Window} pushes in flight per node; " +
                          (runs > 1 ? $"medians of {runs} runs; " : "one run; ") + "n0 is the first node (the oldest); (Nx) = ratio to the singleton row");
        Console.WriteLine("| layout | queue actors per node | push jobs/s | drain jobs/s | drained by node | CPU s, push + drain: n0 / n1 / n2 / PostgreSQL | journal rows/s | " +
                          "events per row | rows per transaction | CPU us per job: nodes + PostgreSQL | JIT's share of the nodes' CPU | CPU us per row (all CPU / rows) | " +
                          "PostgreSQL us per row of one push |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (layout, rs) in rows)
        {
            var spread = string.Join(", ", rs.Select(r => r.Spread).Distinct());
            // The share of the drained jobs each node's workers ran (the median run's), nodes in the order they joined.
            var byNode = string.Join(" / ", rs.OrderBy(r => r.DrainRate).ElementAt(rs.Count / 2).Drain.RanByNode.Select(k => $"{100.0 * k / Math.Max(1, s.Jobs):F0}")) + "%";
            var cpuByNode = string.Join(" / ", Enumerable.Range(0, ClusterNodes).Select(i => Cell(rs, r => r.Push.NodeCpu[i] + r.Drain.NodeCpu[i], 2)));
            Console.WriteLine($"| {Describe(layout)} | {spread} | {Cell(rs, r => r.PushRate, 0, true)} | {Cell(rs, r => r.DrainRate, 0, true)} | {byNode} | " +
                              $"{cpuByNode} / {Cell(rs, r => r.PostgresCpu, 2)} | {Cell(rs, r => r.RowsPerSecond, 0, true)} | {Cell(rs, r => r.EventsPerRow, 0)} | " +
                              $"{Cell(rs, r => r.RowsPerTransaction, 2)} | {Cell(rs, r => r.CpuUsPerJob, 1)} ({Cell(rs, r => r.NodeUsPerJob, 1)} + {Cell(rs, r => r.PostgresUsPerJob, 1)})" +
                              $"{(rs != baseline ? $" ({Stat.F(Median(rs.Select(r => r.CpuUsPerJob)) / Base(r => r.CpuUsPerJob), 2)}x)" : "")} | " +
                              $"{Cell(rs, r => 100 * r.JitShare, 0)}% | {Cell(rs, r => r.CpuUsPerRow, 0)} | {Cell(rs, r => r.PostgresRowUs, 0)} |");
        }
        if (runs > 1)
        {
            Console.WriteLine();
            foreach (var (layout, rs) in rows)
                Console.WriteLine($"# {layout.Name} runs: push {string.Join(", ", rs.Select(r => Us(r.PushRate)))}; drain {string.Join(", ", rs.Select(r => Us(r.DrainRate)))}; " +
                                  $"us/job {string.Join(", ", rs.Select(r => Stat.F(r.CpuUsPerJob, 1)))}; rows/s {string.Join(", ", rs.Select(r => Us(r.RowsPerSecond)))}");
        }
    }

    private static string Describe(ClusterLayout layout) => layout.Name switch
    {
        "singleton" => "singleton placement, 1 queue",
        "q6" => "sharded, 6 queues",
        _ => $"sharded, 1 queue, P = {(layout.Partitions.TryGetValue(layout.Queues[0], out var p) ? p : 1)}",
    };
}
