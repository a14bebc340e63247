using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Linda.Beanstalk;
using Linda.Tests.Beanstalk;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// The server's tubes on the sharded placement (its default), as its users run it: src/Linda.Server
/// processes spoken to over the beanstalkd protocol. Three servers on one PostgreSQL database (fast
/// failover profile, a rebalance round every second) spread the tubes' queues over the nodes; a job has
/// one id whichever node a client is connected to; SIGKILLing the node that hosts a tube loses no
/// acknowledged put, its ids stay unique, and the tubes on the survivors are served meanwhile. Journals
/// the singleton placement's tube hub wrote (the fixture journal-v1, and one a lone server writes here)
/// are served by sharded servers under the same ids, and the other way round. Where a tube's queue runs
/// is read from the servers' logs (<see cref="LindaServerProcess.Hosts"/>).
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ServerShardingSpec(PostgresFixture fixture, ITestOutputHelper output) : ServerProcesses("linda-server-sharding")
{
    private static readonly string[] Tubes = ["t1", "t2", "t3", "t4", "t5", "t6"];
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "journal-v1");

    /// <summary>A rebalance round every second (Linda's default is 10 s): a node that joined after the first tubes were placed soon takes its share.</summary>
    private const string FastRebalance = "linda.sharding.rebalance-interval = 1s";


    // ================================================================ three servers

    [Fact]
    public Task Tubes_spread_over_threeServers_and_a_job_put_through_one_is_reserved_through_another_under_the_same_id() => WithLogs(async () =>
    {
        var nodes = await StartCluster();
        var (firsts, numbers) = await MakeTubes(nodes);
        // Each tube was made through another node than the one before it: the directory numbered each once.
        Assert.Equal(Tubes.Length, numbers.Values.Distinct().Count());
        await Until(() => SpreadOver(nodes, Tubes), FailoverBound, "the tubes' queues to spread over the three servers", () => Describe(nodes));
        output.WriteLine($"tubes: {Describe(nodes)}; numbers {string.Join(", ", numbers.Select(kv => $"{kv.Key} {kv.Value}"))}");

        // For each tube: a put through one node, a reserve through the next, stats-job through the third; each tube's
        // host is whichever node the region chose, so the commands reach queues on their own node and on the others.
        for (var i = 0; i < Tubes.Length; i++)
        {
            var tube = Tubes[i];
            var (putter, reserver, looker) = (nodes[i % 3], nodes[(i + 1) % 3], nodes[(i + 2) % 3]);
            using var p = await Connect(putter.Port, $"{putter.Name} producer");
            using var r = await Connect(reserver.Port, $"{reserver.Name} worker");
            using var l = await Connect(looker.Port, $"{looker.Name} looker");
            await p.Use(tube);
            var body = $"{tube} through {putter.Name}";
            var id = Inserted(await p.AskPut(0, 0, 60, body), $"put into {tube} through {putter.Name}"); // priority 0: before the first job
            Assert.Equal(numbers[tube], WireIds.TubeOf(id));
            Assert.Equal("WATCHING 2", await r.Ask($"watch {tube}"));
            Assert.Equal("WATCHING 1", await r.Ask("ignore default"));
            var (reserved, got) = await r.AskJob("reserve-with-timeout 10");
            Assert.True(reserved == $"RESERVED {id} {body.Length}" && got == body,
                $"{tube} (on {Host(nodes, tube)}): put through {putter.Name} as {id}, reserved through {reserver.Name}: {reserved} '{got}'\n{Logs()}");
            var (statsReply, stats) = await l.AskYaml($"stats-job {id}");
            Assert.True(stats is not null && stats["tube"] == tube && stats["state"] == "reserved", $"stats-job {id} through {looker.Name}: {statsReply}\n{Logs()}");
            Assert.Equal("DELETED", await r.Ask($"delete {id}"));
            // The tube's first job, put through yet another node, by its id through each.
            foreach (var c in new[] { p, r, l })
                Assert.Equal($"FOUND {firsts[tube].Id} {firsts[tube].Body.Length}", (await c.AskJob($"peek {firsts[tube].Id}")).Reply);
            output.WriteLine($"{tube} on {Host(nodes, tube)}: put through {putter.Name} as {id}, reserved through {reserver.Name}, seen through {looker.Name}");
        }

        // Every node lists every tube.
        foreach (var node in nodes)
        {
            using var c = await Connect(node.Port, $"{node.Name} lister");
            var list = await c.AskData("list-tubes");
            Assert.All(Tubes, t => Assert.Contains($"- {t}\n", list));
        }
    });

    /// <param name="directorysNode">
    /// The node killed also runs the tube directory's singleton (the oldest node: the queues' shard
    /// coordinator's too), or it does not.
    /// </param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task SIGKILL_of_the_server_hosting_a_tube_loses_no_acknowledged_put_and_its_ids_stay_unique(bool directorysNode) => WithLogs(async () =>
    {
        var nodes = await StartCluster();
        var (firsts, numbers) = await MakeTubes(nodes);
        await Until(() => SpreadOver(nodes, Tubes), FailoverBound, "the tubes' queues to spread over the three servers", () => Describe(nodes));
        await Within(Task.WhenAny(nodes.Select(n => n.HubHere)), StartBound, "the tube directory started on a node");
        var directory = nodes.Single(n => n.HubHere.IsCompleted);
        var victim = directorysNode ? directory : nodes.First(n => n != directory);
        var tube = Tubes.First(victim.Hosts); // every node hosts one at least: spread
        var survivors = nodes.Where(n => n != victim).ToArray();
        var bystander = Tubes.First(t => survivors.Any(n => n.Hosts(t)));
        output.WriteLine($"tubes: {Describe(nodes)}; the directory on {directory.Name}; killing {victim.Name}, host of {tube}; {bystander} on {Host(nodes, bystander)} stays");

        // Producers through both survivors into the victim's tube, one into the bystander's; pipelined, 5 at a time.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Disposing.Token);
        var puts = new Puts();
        var producing = survivors.Select(n => Task.Run(() => Produce(n, tube, $"{tube} via {n.Name}", puts, stop.Token)))
            .Append(Task.Run(() => Produce(survivors[0], bystander, $"{bystander} via {survivors[0].Name}", puts, stop.Token))).ToList();
        await Until(() => puts.Acked(tube).Count >= 200 && puts.Acked(bystander).Count >= 50, StartBound, "puts to flow before the kill",
            () => $"{puts.Acked(tube).Count} into {tube}, {puts.Acked(bystander).Count} into {bystander}");

        victim.Kill();
        var killedAt = Stopwatch.GetTimestamp(); // the process is gone: what is sent from now on can't reach it
        output.WriteLine($"killed {victim.Name} after {puts.Acked(tube).Count} puts into {tube} acknowledged");
        await Until(() => puts.Acked(tube).Values.Count(a => a.Sent > killedAt) >= 100, FailoverBound, $"100 puts into {tube} sent after the kill acknowledged",
            () => $"{puts.Acked(tube).Values.Count(a => a.Sent > killedAt)} so far; {Describe(survivors)}");
        var after = puts.Acked(tube).Where(kv => kv.Value.Sent > killedAt).ToList();
        // Answered before the kill: written by the killed node.
        var before = puts.Acked(tube).Where(kv => kv.Value.Answered < killedAt).Select(kv => kv.Key).Append(firsts[tube].Id).ToList();
        var servedAgain = after.Min(kv => kv.Value.Answered);
        var recovered = survivors.Select(n => n.HostsSince(tube)).FirstOrDefault(at => at is not null);
        await stop.CancelAsync();
        await Within(Task.WhenAll(producing), StartBound, "the producers stopped");

        // The survivors' tubes were served while the victim's moved: a put into the bystander answered in between.
        var bystanderAcks = puts.Acked(bystander).Values.Select(a => a.Answered).Order().ToList();
        var gaps = bystanderAcks.Zip(bystanderAcks.Skip(1), (a, b) => Ms(a, b)).DefaultIfEmpty(0).Max();
        output.WriteLine($"{tube}: its queue ran on a survivor {(recovered is { } r ? Ms(killedAt, r) + " ms" : "?")} after the kill, and the first put sent after the kill was answered " +
                         $"{Ms(killedAt, servedAgain)} ms after it; {bystander}: {bystanderAcks.Count(a => a > killedAt && a < servedAgain)} puts answered in between, its longest pause {gaps} ms; " +
                         $"{puts.Unknown.Count} puts answered INTERNAL_ERROR (in flight to {victim.Name}), {puts.Lost.Count} not answered");
        Assert.True(bystanderAcks.Any(a => a > killedAt && a < servedAgain), $"no put into {bystander} was answered while {tube} moved\n{Logs()}");

        // Ids stay unique: none was given twice, and every one given after the kill is above every one before it.
        Assert.True(puts.GivenTwice.IsEmpty, $"ids given twice: {string.Join("; ", puts.GivenTwice.Take(10))}\n{Logs()}");
        Assert.All(puts.Acked(tube).Keys, id => Assert.Equal(numbers[tube], WireIds.TubeOf(id)));
        Assert.True(after.Min(kv => kv.Key) > before.Max(), $"after the kill {tube}'s ids start at {after.Min(kv => kv.Key)}, below {before.Max()}\n{Logs()}");

        // Every acknowledged put is in its tube once, under its id, with its body; a put of unknown outcome
        // (INTERNAL_ERROR, or no answer) may be there too, under an id nobody was told.
        using var check = await Connect(survivors[1].Port, "check");
        var held = await Drain(check, tube);
        var expected = puts.Acked(tube).ToDictionary(kv => kv.Key, kv => kv.Value.Body);
        expected[firsts[tube].Id] = firsts[tube].Body;
        var missing = expected.Where(kv => !held.TryGetValue(kv.Key, out var body) || body != kv.Value).Select(kv => $"{kv.Key} '{kv.Value}'").ToList();
        var extra = held.Keys.Where(id => !expected.ContainsKey(id)).Order().ToList();
        output.WriteLine($"{tube} held {held.Count} jobs: {expected.Count} acknowledged, {extra.Count} others ({string.Join(", ", extra.Take(10).Select(id => $"{id} '{held[id]}'"))})");
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged puts are not in {tube} as answered: {string.Join(", ", missing.Take(20))}\n{Logs()}");
        Assert.True(extra.Count <= puts.Unknown.Count + puts.Lost.Count, $"{extra.Count} jobs nobody was told of, {puts.Unknown.Count + puts.Lost.Count} puts of unknown outcome\n{Logs()}");
        Assert.True(puts.Odd.IsEmpty, $"other answers: {string.Join("; ", puts.Odd.Take(10))}\n{Logs()}");
        // The bystander holds its acknowledged puts too (counted; the last ones looked at), and a put after it all gets a new id.
        var (statsReply, stats) = await check.AskYaml($"stats-tube {bystander}");
        Assert.True(stats is not null, $"stats-tube {bystander}: {statsReply}");
        var acked = puts.Acked(bystander).Count + 1; // and its first job
        var unknown = puts.Unknown.Concat(puts.Lost).Count(u => u.StartsWith(bystander + " ", StringComparison.Ordinal));
        Assert.InRange(long.Parse(stats["current-jobs-ready"], CultureInfo.InvariantCulture), acked, acked + unknown);
        foreach (var (id, put) in puts.Acked(bystander).OrderByDescending(kv => kv.Key).Take(20))
            Assert.Equal(($"FOUND {id} {put.Body.Length}", put.Body), await check.AskJob($"peek {id}"));
        await check.Use(tube);
        var last = Inserted(await check.AskPut(1024, 0, 60, "the last"), $"a put into {tube} after it all");
        Assert.True(last > held.Keys.Max() && WireIds.TubeOf(last) == numbers[tube], $"{tube}'s next id {last}, after {held.Keys.Max()}");
    });

    // ================================================================ journals of the singleton hub

    [Fact]
    public Task The_fixture_journal_of_the_singleton_tube_hub_is_served_by_a_sharded_server_under_its_ids() => WithLogs(async () =>
    {
        // Fixtures/journal-v1: the tube hub numbered default 0 and emails 1, and emails' queue holds one job.
        File.Copy(Path.Combine(Fixture, "linda.db"), Data.File("linda.db"));
        var server = Start("sharded", TestPrograms.FreePort(), "--data", Data.Path); // the default placement
        await Listen(server);
        using var c = await Connect(server.Port, "client");

        var list = await c.AskData("list-tubes");
        Assert.Equal("---\n- default\n- emails\n", list);
        var job = WireIds.Of(1, 1);
        Assert.Equal(($"FOUND {job} 12", "hello\r\nworld"), await c.AskJob($"peek {job}"));
        var (_, stats) = await c.AskYaml($"stats-job {job}");
        Assert.Equal(("emails", "ready", "7"), (stats!["tube"], stats["state"], stats["pri"]));
        await c.Use("emails");
        Assert.Equal(WireIds.Of(1, 2), Inserted(await c.AskPut(0, 0, 60, "next"), "a put into emails"));
        await c.Use("reports");
        Assert.Equal(WireIds.Of(2, 1), Inserted(await c.AskPut(0, 0, 60, "first"), "a put into a new tube")); // the next number
        await Until(() => server.Hosts("emails"), StartBound, "the log says emails' queue runs");
        Assert.Contains("/system/sharding/linda-queue/emails/emails/queue] queue emails recovered at sequence number 1", server.RecentLog());
    });

    [Fact]
    public Task Tubes_written_on_the_singleton_placement_are_served_on_the_sharded_one_under_the_same_ids_and_back_again() => WithLogs(async () =>
    {
        var singleton = Data.File("singleton.conf");
        File.WriteAllText(singleton, "linda.placement = singleton\n");
        var data = Directory.CreateDirectory(Data.File("data")).FullName;
        var jobs = new Dictionary<ulong, string>();
        var numbers = new HashSet<long>();
        string[] tubes = ["alpha", "beta"];
        string[] runs = ["singleton", "sharded", "singleton again"];
        for (var run = 0; run < runs.Length; run++)
        {
            var server = Start(runs[run], TestPrograms.FreePort(), run == 1 ? ["--data", data] : ["--data", data, "--config", singleton]);
            await Listen(server);
            using (var c = await Connect(server.Port, runs[run]))
            {
                // What the runs before put is there, under the same ids.
                foreach (var (id, body) in jobs)
                    Assert.Equal(($"FOUND {id} {body.Length}", body), await c.AskJob($"peek {id}"));
                // Puts go on from the ids before them; a new tube gets the next number.
                foreach (var tube in tubes.Append($"new-in-run-{run}"))
                {
                    await c.Use(tube);
                    for (var i = 0; i < 3; i++)
                    {
                        var body = $"{tube} #{i} of the {runs[run]} run";
                        var id = Inserted(await c.AskPut(100, 0, 60, body), $"put into {tube}");
                        var sameTube = jobs.Keys.Where(k => WireIds.TubeOf(k) == WireIds.TubeOf(id)).ToList();
                        Assert.True(!jobs.ContainsKey(id) && (sameTube.Count == 0 || id > sameTube.Max()), $"{tube}: id {id} after {string.Join(", ", sameTube)}");
                        if (i == 0 && tube.StartsWith("new-", StringComparison.Ordinal))
                            Assert.True(numbers.All(n => WireIds.TubeOf(id) > n), $"{tube}: number {WireIds.TubeOf(id)}, after {string.Join(", ", numbers)}");
                        jobs[id] = body;
                    }
                }
                numbers.UnionWith(jobs.Keys.Select(WireIds.TubeOf));
            }
            await Until(() => server.Hosts("alpha"), StartBound, "the log says alpha's queue runs");
            var where = run == 1 ? "/system/sharding/linda-queue/alpha/alpha/queue]" : "/user/linda-beanstalk/singleton/tube-alpha-";
            Assert.Contains(where, server.RecentLog());
            server.Kill(); // every put was answered once written
        }
    });

    [Fact]
    public Task A_tube_the_singleton_hub_wrote_wakes_on_the_sharded_placement_with_no_command_sent_to_it() => WithLogs(async () =>
    {
        var singleton = Data.File("singleton.conf");
        File.WriteAllText(singleton, "linda.placement = singleton\n");
        var data = Directory.CreateDirectory(Data.File("data")).FullName;
        var first = Start("singleton", TestPrograms.FreePort(), ["--data", data, "--config", singleton]);
        await Listen(first);
        using (var c = await Connect(first.Port, "singleton"))
        {
            await c.Use("later");
            Inserted(await c.AskPut(100, 600, 60, "due in ten minutes"), "a delayed put");
        }
        first.Kill();

        // Sharded, and no client at all: the node wakes every tube of the directory, so "later" runs
        // (its timer would make the job ready on time) though nothing asked for it.
        var second = Start("sharded", TestPrograms.FreePort(), ["--data", data]);
        await Listen(second);
        await Until(() => second.Hosts("later"), StartBound, "the log says the tube later's queue runs, with no command sent to it");
        Assert.Contains("/system/sharding/linda-queue/later/later/queue] queue later recovered at sequence number 1", second.RecentLog());
    });

    // ================================================================ helpers

    /// <summary>What the producers were answered: for each tube the INSERTED ids with their bodies, when each was sent and answered; and every other outcome.</summary>
    private sealed class Puts
    {
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<ulong, (string Body, long Sent, long Answered)>> _acked = new();
        private readonly ConcurrentDictionary<ulong, string> _given = new();

        public ConcurrentDictionary<ulong, (string Body, long Sent, long Answered)> Acked(string tube) => _acked.GetOrAdd(tube, _ => new());

        /// <summary>Puts answered INTERNAL_ERROR: in flight to a node that died, they may or may not be in the tube.</summary>
        public ConcurrentQueue<string> Unknown { get; } = new();

        /// <summary>Puts whose connection ended before their answer.</summary>
        public ConcurrentQueue<string> Lost { get; } = new();

        /// <summary>Ids INSERTED for two puts.</summary>
        public ConcurrentQueue<string> GivenTwice { get; } = new();

        /// <summary>Other answers.</summary>
        public ConcurrentQueue<string> Odd { get; } = new();

        public void Inserted(string tube, ulong id, string body, long sent)
        {
            if (!_given.TryAdd(id, body))
                GivenTwice.Enqueue($"{id}: '{_given[id]}' and '{body}'");
            Acked(tube)[id] = (body, sent, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Puts "PREFIX N" into <paramref name="tube"/> through <paramref name="node"/>, 5 pipelined at a time, until stopped; a lost connection is opened again.</summary>
    private async Task Produce(LindaServerProcess node, string tube, string prefix, Puts puts, CancellationToken stop)
    {
        const int batch = 5;
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            BeanstalkClient? c = null;
            var sent = new List<string>();
            try
            {
                c = await Connect(node.Port, $"{node.Name} {prefix}");
                await c.Use(tube);
                while (!stop.IsCancellationRequested)
                {
                    sent.Clear();
                    var frames = new StringBuilder();
                    for (var k = 0; k < batch; k++, n++)
                    {
                        sent.Add($"{prefix} {n}");
                        frames.Append(BeanstalkClient.PutFrame(1024, 0, 60, sent[^1]));
                    }
                    var at = Stopwatch.GetTimestamp();
                    await c.Write(frames.ToString());
                    while (sent.Count > 0)
                    {
                        var reply = await c.ReadLine();
                        if (reply.StartsWith("INSERTED ", StringComparison.Ordinal))
                            puts.Inserted(tube, ulong.Parse(reply["INSERTED ".Length..], CultureInfo.InvariantCulture), sent[0], at);
                        else if (reply == "INTERNAL_ERROR")
                            puts.Unknown.Enqueue(sent[0]);
                        else
                            puts.Odd.Enqueue($"{sent[0]}: {reply}");
                        sent.RemoveAt(0);
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or ObjectDisposedException or TimeoutException)
            {
                foreach (var body in sent)
                    puts.Lost.Enqueue($"{body}: {e.GetType().Name}");
            }
            finally
            {
                c?.Dispose();
            }
        }
    }

    /// <summary>Reserves and deletes every job of <paramref name="tube"/> through <paramref name="c"/>: each id with its body (an id reserved twice fails).</summary>
    private async Task<Dictionary<ulong, string>> Drain(BeanstalkClient c, string tube)
    {
        Assert.Equal("WATCHING 2", await c.Ask($"watch {tube}"));
        Assert.Equal("WATCHING 1", await c.Ask("ignore default"));
        var held = new Dictionary<ulong, string>();
        while (true)
        {
            var (reply, body) = await c.AskJob("reserve-with-timeout 0");
            if (reply == "TIMED_OUT")
                break;
            Assert.True(reply.StartsWith("RESERVED ", StringComparison.Ordinal), $"reserve from {tube}: {reply}\n{Logs()}");
            var id = ulong.Parse(reply.Split(' ')[1], CultureInfo.InvariantCulture);
            Assert.True(held.TryAdd(id, body!), $"{id} reserved twice from {tube}\n{Logs()}");
            Assert.Equal("DELETED", await c.Ask($"delete {id}"));
        }
        Assert.Equal("WATCHING 2", await c.Ask("watch default"));
        Assert.Equal("WATCHING 1", await c.Ask($"ignore {tube}"));
        return held;
    }

    /// <summary>Each of <see cref="Tubes"/> made with one job, through the nodes in turn: its first job (id and body) and its number.</summary>
    private async Task<(Dictionary<string, (ulong Id, string Body)> Firsts, Dictionary<string, long> Numbers)> MakeTubes(LindaServerProcess[] nodes)
    {
        var firsts = new Dictionary<string, (ulong, string)>();
        var numbers = new Dictionary<string, long>();
        for (var i = 0; i < Tubes.Length; i++)
        {
            var node = nodes[i % nodes.Length];
            using var c = await Connect(node.Port, $"{node.Name} maker");
            await c.Use(Tubes[i]);
            var body = $"first of {Tubes[i]}, through {node.Name}";
            var id = Inserted(await c.AskPut(1024, 0, 60, body), $"the first put into {Tubes[i]}");
            firsts[Tubes[i]] = (id, body);
            numbers[Tubes[i]] = WireIds.TubeOf(id);
        }
        return (firsts, numbers);
    }

    /// <summary>Every one of <paramref name="tubes"/> runs on exactly one of <paramref name="nodes"/>, and each of them runs one at least.</summary>
    private static bool SpreadOver(IReadOnlyCollection<LindaServerProcess> nodes, string[] tubes) =>
        tubes.All(t => nodes.Count(n => n.Hosts(t)) == 1) && nodes.All(n => tubes.Any(n.Hosts));

    private static string Host(IEnumerable<LindaServerProcess> nodes, string tube) =>
        string.Join("+", nodes.Where(n => n.Hosts(tube)).Select(n => n.Name).DefaultIfEmpty("?"));

    private static string Describe(IEnumerable<LindaServerProcess> nodes) =>
        string.Join("; ", nodes.Select(n => $"{n.Name}: {string.Join(",", n.TubesHere)}"));

    /// <summary>Three servers on one new PostgreSQL database, fast failover, n1 the seed; returns once each answers <c>stats</c>.</summary>
    private async Task<LindaServerProcess[]> StartCluster()
    {
        var config = Data.File("sharding.conf");
        File.WriteAllText(config, FastRebalance + "\n");
        return [.. await StartClusterOf3(await fixture.Server.CreateDatabaseAsync(), config)];
    }

    private ulong Inserted(string reply, string what)
    {
        if (!reply.StartsWith("INSERTED ", StringComparison.Ordinal))
            Assert.Fail($"{what}: {reply}\n{Logs()}");
        return ulong.Parse(reply["INSERTED ".Length..], CultureInfo.InvariantCulture);
    }

    private static long Ms(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
