using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Linda.Tests.Beanstalk;
using Linda.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// src/Linda.Server as its users run it: OS processes spoken to over the beanstalkd protocol. One
/// server on SQLite is SIGKILLed while clients put, and restarted on the same data; three servers on
/// one PostgreSQL lose the node that hosts the tube "work" (its queue: a sharded entity, or the singleton
/// hub's child) while clients put and reserve through the others.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ServerProcessSpec(PostgresFixture fixture, ITestOutputHelper output) : ServerProcesses("linda-server")
{
    // hocon/failover-fast.conf: "a crashed node is noticed, downed and replaced within about 5 s". A command
    // sent to a survivor just after the crash must be answered within this; the server's own ask timeout is 30 s.
    private static readonly TimeSpan AnsweredBound = TimeSpan.FromSeconds(20);

    private string _db = ""; // the cluster's PostgreSQL database

    // ================================================================ crash safety on SQLite

    /// <summary>What a job from the first run should be after the restart.</summary>
    private sealed record Expected(int Index, string Tube, string Body, uint Priority, string State)
    {
        public bool Deleted => State == "deleted";
    }

    /// <param name="fixedClusterPort">
    /// Both runs on one --cluster-port (the dead holders' address is then the new server's own), or each
    /// on a free one (the default of a lone server).
    /// </param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task SIGKILL_on_SQLite_loses_no_acknowledged_job_and_the_restarted_server_serves_the_same_jobs(bool fixedClusterPort) => WithLogs(async () =>
    {
        var port = TestPrograms.FreePort();
        string[] options = fixedClusterPort
            ? ["--data", Data.Path, "--cluster-port", TestPrograms.FreePort().ToString(CultureInfo.InvariantCulture)]
            : ["--data", Data.Path];
        var first = Start("first run", port, options);
        await Listen(first);

        // Three connections put 300 jobs in four tubes, with every priority range, delays and bodies of
        // every byte value (an empty one and one of 60,000 bytes among them).
        string[] tubes = ["default", "emails", "reports.v2", "a$b_(c)"];
        var conns = new[] { await Connect(port, "a"), await Connect(port, "b"), await Connect(port, "c") };
        uint[] priorities = [0, 1, 10, 1024, 1024, 65_535, uint.MaxValue];
        var jobs = new Dictionary<ulong, Expected>();
        var held = new HashSet<ulong>(); // reserved by a connection of the first run when it was killed
        for (var i = 0; i < 300; i++)
        {
            var c = conns[i % 3];
            var tube = tubes[i / 3 % tubes.Length];
            var body = Body(i);
            var priority = priorities[i % priorities.Length];
            var delayed = i % 10 == 0;
            await c.Use(tube);
            var reply = await c.AskPut(priority, delayed ? 3600u : 0, i % 10 == 3 ? 3600u : 120, body);
            var id = Inserted(reply, $"put #{i} ({body.Length} bytes) into {tube}");
            Assert.False(jobs.ContainsKey(id), $"id {id} given twice");
            jobs[id] = new Expected(i, tube, body, priority, delayed ? "delayed" : "ready");
        }

        // Then every move a job can make, by job id.
        foreach (var (id, job) in jobs.OrderBy(kv => kv.Key).ToList())
        {
            var n = job.Index / 10;
            switch (job.Index % 10)
            {
                case 1: // reserved, buried with a new priority
                    await conns[1].Reserve(id, job.Body, $"reserve-job {id}");
                    Assert.Equal("BURIED", await conns[1].Ask($"bury {id} 77"));
                    jobs[id] = job with { Priority = 77, State = "buried" };
                    break;
                case 2: // reserved, released with a delay
                    await conns[2].Reserve(id, job.Body, $"reserve-job {id}");
                    Assert.Equal("RELEASED", await conns[2].Ask($"release {id} {job.Priority} 3600"));
                    jobs[id] = job with { State = "delayed" };
                    break;
                case 3: // reserved (ttr 3600) by a connection that stays open until the kill
                    await conns[0].Reserve(id, job.Body, $"reserve-job {id}");
                    held.Add(id);
                    break;
                case 4: // deleted while ready
                    Assert.Equal("DELETED", await conns[1].Ask($"delete {id}"));
                    jobs[id] = job with { State = "deleted" };
                    break;
                case 5: // reserved, released at once with a new priority
                    await conns[2].Reserve(id, job.Body, $"reserve-job {id}");
                    Assert.Equal("RELEASED", await conns[2].Ask($"release {id} 5 0"));
                    jobs[id] = job with { Priority = 5 };
                    break;
                case 6 when n % 2 == 0: // reserved and deleted
                    await conns[0].Reserve(id, job.Body, $"reserve-job {id}");
                    Assert.Equal("DELETED", await conns[0].Ask($"delete {id}"));
                    jobs[id] = job with { State = "deleted" };
                    break;
                case 8 when n % 2 == 0: // reserved, buried, kicked
                    await conns[1].Reserve(id, job.Body, $"reserve-job {id}");
                    Assert.Equal("BURIED", await conns[1].Ask($"bury {id} {job.Priority}"));
                    Assert.Equal("KICKED", await conns[1].Ask($"kick-job {id}"));
                    break;
                case 0 when n % 3 == 0: // delayed, kicked
                    Assert.Equal("KICKED", await conns[2].Ask($"kick-job {id}"));
                    jobs[id] = job with { State = "ready" };
                    break;
            }
        }

        // A plain reserve takes the most urgent ready job of the watched tube, then the oldest: three of them stay reserved too.
        Assert.Equal("WATCHING 2", await conns[0].Ask("watch reports.v2"));
        Assert.Equal("WATCHING 1", await conns[0].Ask("ignore default"));
        for (var k = 0; k < 3; k++)
        {
            var next = jobs.Where(kv => kv.Value is { Tube: "reports.v2", State: "ready" } && !held.Contains(kv.Key))
                .OrderBy(kv => kv.Value.Priority).ThenBy(kv => kv.Key).First();
            var (reply, body) = await conns[0].AskJob("reserve-with-timeout 0");
            Assert.Equal($"RESERVED {next.Key} {next.Value.Body.Length}", reply);
            Assert.Equal(next.Value.Body, body);
            held.Add(next.Key);
        }
        foreach (var id in held)
            Assert.Equal("reserved", (await StatsJob(conns[1], id))?["state"]);

        // Delete, release and bury are answered before their write (--verdicts early, the default) and the
        // write follows at once; a put is answered once written, after the writes before it. One put per
        // tube makes sure the moves above are in the file before the kill.
        foreach (var tube in tubes)
        {
            await conns[0].Use(tube);
            var body = $"sentinel of {tube}";
            jobs[Inserted(await conns[0].AskPut(100, 0, 120, body), $"sentinel put into {tube}")] = new Expected(-1, tube, body, 100, "ready");
        }
        var before = await TubeCounts(conns[1], tubes);
        AssertCounts(jobs, held, tubes, before, "before the kill");

        // A fourth connection pipelines puts, 20 at a time, into its own tube; the server is killed under it.
        var streaming = await Connect(port, "stream");
        var streamed = new ConcurrentQueue<(ulong Id, string Body)>();
        var streamOther = new ConcurrentQueue<string>();
        var stream = Task.Run(async () =>
        {
            await streaming.Use("stream");
            var n = 0;
            try
            {
                while (true)
                {
                    var frames = new StringBuilder();
                    var bodies = new List<string>();
                    for (var k = 0; k < 20; k++, n++)
                    {
                        var body = $"stream {n} " + new string((char)('a' + n % 26), n % 40);
                        bodies.Add(body);
                        frames.Append(BeanstalkClient.PutFrame((uint)(n % 3), 0, 120, body));
                    }
                    await streaming.Write(frames.ToString());
                    foreach (var body in bodies)
                    {
                        var reply = await streaming.ReadLine();
                        if (reply.StartsWith("INSERTED ", StringComparison.Ordinal))
                            streamed.Enqueue((ulong.Parse(reply["INSERTED ".Length..], CultureInfo.InvariantCulture), body));
                        else
                            streamOther.Enqueue($"{body}: {reply}");
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or ObjectDisposedException)
            {
                return $"{e.GetType().Name} after {n} puts sent";
            }
        });
        await Until(() => streamed.Count >= 500 || stream.IsCompleted, TimeSpan.FromSeconds(60), "500 pipelined puts acknowledged");
        if (stream.IsCompleted)
            Assert.Fail($"the pipelining connection ended before the kill: {(stream.IsFaulted ? stream.Exception : await stream)}\n{Logs()}");
        first.Kill();
        var streamEnd = await stream.WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"killed the first run with {jobs.Count} jobs on record, {held.Count} reserved, {streamed.Count} pipelined puts acknowledged; the stream ended: {streamEnd}");
        Assert.True(streamOther.IsEmpty, $"pipelined puts answered other than INSERTED: {string.Join("; ", streamOther.Take(10))}\n{Logs()}");
        foreach (var c in conns)
            c.Dispose();
        streaming.Dispose();

        // Restarted on the same folder and port.
        var second = Start("second run", port, options);
        await Listen(second);
        var check = await Connect(port, "check");

        // The jobs reserved by connections of the dead process: their holder is gone, they are ready.
        var heldStates = new Dictionary<ulong, string>();
        var listeningAt = Stopwatch.GetTimestamp();
        await Until(async () =>
        {
            foreach (var id in held)
                heldStates[id] = (await StatsJob(check, id))?["state"] ?? "NOT_FOUND";
            return heldStates.Values.All(s => s == "ready");
        }, StartBound, "the jobs reserved before the kill are ready", () => string.Join(", ", heldStates.Where(kv => kv.Value != "ready").Select(kv => $"{kv.Key}: {kv.Value}")));
        output.WriteLine($"the {held.Count} jobs reserved before the kill were ready {Ms(listeningAt, Stopwatch.GetTimestamp())} ms after the restarted server listened");

        // Every job of the first run is as it was left: state, tube, priority, body; deleted ones are gone.
        var wrong = new List<string>();
        foreach (var (id, job) in jobs.OrderBy(kv => kv.Key))
        {
            var stats = await StatsJob(check, id);
            var (peek, body) = await check.AskJob($"peek {id}");
            if (job.Deleted)
            {
                if (stats is not null || peek != "NOT_FOUND")
                    wrong.Add($"{id}: deleted, but stats-job says {stats?["state"] ?? "NOT_FOUND"} and peek {peek}");
                continue;
            }
            if (stats is null)
            {
                wrong.Add($"{id} ({job.State} in {job.Tube}): NOT_FOUND");
                continue;
            }
            var state = held.Contains(id) ? "ready" : job.State;
            if (stats["state"] != state || stats["tube"] != job.Tube || stats["pri"] != job.Priority.ToString(CultureInfo.InvariantCulture))
                wrong.Add($"{id}: expected {state} in {job.Tube} pri {job.Priority}; got {stats["state"]} in {stats["tube"]} pri {stats["pri"]}");
            if (state == "delayed" && long.Parse(stats["time-left"], CultureInfo.InvariantCulture) < 3000)
                wrong.Add($"{id}: delayed by 3600 s, but time-left is {stats["time-left"]}");
            if (peek != $"FOUND {id} {job.Body.Length}" || body != job.Body)
                wrong.Add($"{id}: peek answered {peek} with {body?.Length} bytes{(body is not null && body != job.Body ? " that differ" : "")}");
        }
        foreach (var (id, body) in streamed)
        {
            var (peek, found) = await check.AskJob($"peek {id}");
            if (peek != $"FOUND {id} {body.Length}" || found != body)
                wrong.Add($"pipelined {id} ('{body}'): peek answered {peek} '{found}'");
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} jobs are not as acknowledged:\n{string.Join("\n", wrong.Take(40))}\n{Logs()}");
        AssertCounts(jobs, [], tubes, await TubeCounts(check, tubes), "after the restart");

        // New puts get new ids, above every id of their tube.
        var known = jobs.Keys.Concat(streamed.Select(s => s.Id)).ToHashSet();
        foreach (var tube in tubes.Append("stream"))
        {
            await check.Use(tube);
            var body = $"after the restart, {tube}";
            var id = Inserted(await check.AskPut(1024, 0, 120, body), $"put into {tube} after the restart");
            Assert.DoesNotContain(id, known);
            var sameTube = known.Where(k => k >> 40 == id >> 40).ToList();
            Assert.True(sameTube.Count > 0 && id > sameTube.Max(), $"{tube}: new id {id}, ids before it up to {(sameTube.Count > 0 ? sameTube.Max() : 0)} (tube {id >> 40})");
            var (peek, found) = await check.AskJob($"peek {id}");
            Assert.Equal($"FOUND {id} {body.Length}", peek);
            Assert.Equal(body, found);
        }
        output.WriteLine($"after the restart: {jobs.Count(j => !j.Value.Deleted)} jobs as left, {jobs.Count(j => j.Value.Deleted)} deleted ones gone, {streamed.Count} pipelined ones there");
    });

    /// <summary>Bodies of every byte value (one char per byte, Latin-1), CR LF included; #7 is empty, #13 is 60,000 bytes.</summary>
    private static string Body(int i) => i switch
    {
        7 => "",
        13 => string.Concat(Enumerable.Range(0, 60_000).Select(k => (char)(k * 7 % 256))),
        _ => $"job {i} " + new string(Enumerable.Range(0, i % 97).Select(k => (char)((i * 31 + k * 13) % 256)).ToArray()),
    };

    private ulong Inserted(string reply, string what)
    {
        if (!reply.StartsWith("INSERTED ", StringComparison.Ordinal))
            Assert.Fail($"{what}: {reply}\n{Logs()}");
        return ulong.Parse(reply["INSERTED ".Length..], CultureInfo.InvariantCulture);
    }

    private static async Task<Dictionary<string, string>?> StatsJob(BeanstalkClient c, ulong id)
    {
        var (reply, data) = await c.AskYaml($"stats-job {id}");
        if (reply == "NOT_FOUND")
            return null;
        Assert.True(data is not null, $"stats-job {id}: {reply}");
        return data;
    }

    private static async Task<Dictionary<string, (long Ready, long Reserved, long Delayed, long Buried)>> TubeCounts(BeanstalkClient c, IEnumerable<string> tubes)
    {
        var counts = new Dictionary<string, (long, long, long, long)>();
        foreach (var tube in tubes)
        {
            var (reply, s) = await c.AskYaml($"stats-tube {tube}");
            Assert.True(s is not null, $"stats-tube {tube}: {reply}");
            counts[tube] = (Long(s["current-jobs-ready"]), Long(s["current-jobs-reserved"]), Long(s["current-jobs-delayed"]), Long(s["current-jobs-buried"]));
        }
        return counts;
    }

    private void AssertCounts(Dictionary<ulong, Expected> jobs, HashSet<ulong> reserved, string[] tubes,
        Dictionary<string, (long Ready, long Reserved, long Delayed, long Buried)> counts, string when)
    {
        foreach (var tube in tubes)
        {
            var inTube = jobs.Where(kv => kv.Value.Tube == tube && !kv.Value.Deleted).ToList();
            var expected = (
                Ready: (long)inTube.Count(kv => kv.Value.State == "ready" && !reserved.Contains(kv.Key)),
                Reserved: (long)inTube.Count(kv => reserved.Contains(kv.Key)),
                Delayed: (long)inTube.Count(kv => kv.Value.State == "delayed"),
                Buried: (long)inTube.Count(kv => kv.Value.State == "buried"));
            Assert.True(expected == counts[tube], $"stats-tube {tube} {when}: expected (ready, reserved, delayed, buried) {expected}, got {counts[tube]}\n{Logs()}");
        }
    }

    // ================================================================ a cluster on PostgreSQL

    [Fact]
    public Task ThreeServers_on_PostgreSQL_keep_serving_and_lose_no_acknowledged_job_when_the_tubes_node_is_SIGKILLed() => WithLogs(async () =>
    {
        var nodes = await StartCluster();
        var ports = nodes.Select(n => n.Port).ToArray();

        // Put through n2, reserve and delete through n3; every node's stats-tube agrees.
        var bodies = new ConcurrentDictionary<ulong, string>();
        var producer2 = await Connect(ports[1], "n2 producer");
        await producer2.Use("work");
        var firstIds = new List<ulong>();
        for (var i = 0; i < 60; i++)
        {
            var body = $"first {i}";
            var id = Inserted(await producer2.AskPut(1024, 0, 10, body), $"put #{i} through n2");
            bodies[id] = body;
            firstIds.Add(id);
        }
        var worker3 = await Connect(ports[2], "n3 worker");
        Assert.Equal("WATCHING 2", await worker3.Ask("watch work"));
        Assert.Equal("WATCHING 1", await worker3.Ask("ignore default"));
        for (var i = 0; i < 20; i++)
        {
            var (reply, body) = await worker3.AskJob("reserve-with-timeout 10");
            // FIFO within a priority: the oldest first.
            Assert.Equal($"RESERVED {firstIds[i]} {bodies[firstIds[i]].Length}", reply);
            Assert.Equal(bodies[firstIds[i]], body);
            Assert.Equal("DELETED", await worker3.Ask($"delete {firstIds[i]}"));
        }
        foreach (var node in nodes)
        {
            using var c = await Connect(node.Port, $"{node.Name} stats");
            var (reply, s) = await c.AskYaml("stats-tube work");
            Assert.True(s is not null, $"stats-tube work through {node.Name}: {reply}\n{Logs()}");
            Assert.Equal((40L, 0L, 0L, 0L, 60L), (Long(s["current-jobs-ready"]), Long(s["current-jobs-reserved"]), Long(s["current-jobs-delayed"]),
                Long(s["current-jobs-buried"]), Long(s["total-jobs"])));
        }
        worker3.Dispose();
        producer2.Dispose();

        var (tubeNode, survivors) = await TubeNode(nodes);

        // On the tube's node a connection holds five jobs (ttr 5); they must come back once it is gone.
        var holder = await Connect(tubeNode.Port, $"{tubeNode.Name} holder");
        var heldIds = new List<ulong>();
        using (var p = await Connect(survivors[0].Port, "hold producer"))
        {
            await p.Use("work");
            for (var i = 0; i < 5; i++)
            {
                var body = $"held {i}";
                var id = Inserted(await p.AskPut(0, 0, 5, body), $"put of held #{i}");
                bodies[id] = body;
                heldIds.Add(id);
                await holder.Reserve(id, body, $"reserve-job {id}");
            }
        }

        // Traffic: a producer on one survivor; workers (reserve, delete) on both survivors and on the tube's node.
        using var stopProducing = CancellationTokenSource.CreateLinkedTokenSource(Disposing.Token);
        using var stopWorking = CancellationTokenSource.CreateLinkedTokenSource(Disposing.Token);
        var acked = new ConcurrentDictionary<ulong, (long Sent, long Answered)>(); // Stopwatch timestamps
        var unanswered = new ConcurrentQueue<string>();
        var reservedOnSurvivors = new ConcurrentQueue<(ulong Id, string Node)>();
        var reservedOnTubeNode = new ConcurrentQueue<ulong>();
        var deletedOnTubeNode = new ConcurrentDictionary<ulong, byte>();
        var odd = new ConcurrentQueue<string>();
        // Commands answered INTERNAL_ERROR, with when they were sent: the survivor's answer to a command in
        // flight to the dead node (it may or may not have been applied, so it is not sent again).
        var unknownOutcome = new ConcurrentQueue<(string What, long Sent)>();
        // When each survivor first served a reserve sent after the kill: by then it knew the node was gone.
        var kill = new StrongBox<long>(long.MaxValue);
        var servedAfterKill = new ConcurrentDictionary<string, long>();
        var producing = Task.Run(() => Produce(survivors[0], "produced", 5, stopProducing.Token, bodies, acked, unanswered, unknownOutcome));
        var reservedBodies = new ConcurrentDictionary<ulong, string>();
        var working = survivors.Select(n => Task.Run(() => Work(n, stopWorking.Token, bodies, odd, (id, body, sent) =>
        {
            reservedBodies[id] = body;
            reservedOnSurvivors.Enqueue((id, n.Name));
            if (sent > Volatile.Read(ref kill.Value))
                servedAfterKill.TryAdd(n.Name, Stopwatch.GetTimestamp());
        }, null, unknownOutcome))).ToList();
        var tubeNodeWorking = Task.Run(() => Work(tubeNode, stopWorking.Token, bodies, odd, (id, body, _) =>
        {
            reservedBodies[id] = body;
            reservedOnTubeNode.Enqueue(id);
        }, deletedOnTubeNode, unknownOutcome));
        await Until(() => acked.Count >= 150 && reservedOnSurvivors.Count >= 30 && reservedOnTubeNode.Count >= 10, TimeSpan.FromSeconds(60),
            "jobs flow before the kill", () => $"acked {acked.Count}, reserved on survivors {reservedOnSurvivors.Count}, on {tubeNode.Name} {reservedOnTubeNode.Count}\n{Logs()}");

        tubeNode.Kill();
        var killedAt = Stopwatch.GetTimestamp(); // the process is gone: what is sent from now on can't reach it
        Volatile.Write(ref kill.Value, killedAt);
        holder.Dispose();
        output.WriteLine($"killed {tubeNode.Name} after {acked.Count} puts acknowledged, {reservedOnSurvivors.Count} reserves on the survivors, {reservedOnTubeNode.Count} on it");

        // The survivors keep serving: puts sent after the kill are INSERTED, the first within 60 s.
        await Until(() => acked.Values.Any(a => a.Sent > killedAt), TimeSpan.FromSeconds(60), "a put sent after the kill INSERTED");
        var firstAfter = acked.Values.Where(a => a.Sent > killedAt).MinBy(a => a.Answered);
        output.WriteLine($"the first put sent after the kill (at {Ms(killedAt, firstAfter.Sent)} ms) was INSERTED {Ms(killedAt, firstAfter.Answered)} ms after the kill");
        await Until(() => acked.Values.Count(a => a.Sent > killedAt) >= 100, TimeSpan.FromSeconds(60),
            "100 puts sent after the kill acknowledged", () => $"{acked.Values.Count(a => a.Sent > killedAt)} so far\n{Logs()}");
        await stopProducing.CancelAsync();
        await Within(producing, TimeSpan.FromSeconds(60), "the producer stopped");

        // Every acknowledged job is reserved on a survivor (or was deleted on the dead node, answered DELETED), and the tube empties.
        var mustRun = firstIds.Skip(20).Concat(heldIds).Concat(acked.Keys).ToHashSet();
        List<ulong> Missing()
        {
            var done = reservedOnSurvivors.Select(r => r.Id).ToHashSet();
            done.UnionWith(deletedOnTubeNode.Keys);
            return mustRun.Where(id => !done.Contains(id)).Order().ToList();
        }
        await Until(async () => Missing().Count == 0 && await Empty(survivors, "work"), FailoverBound,
            "every acknowledged job reserved on a survivor and the tube empty", () => $"not reserved: {string.Join(", ", Missing().Take(30))}\n{Logs()}");
        await stopWorking.CancelAsync();
        await Within(Task.WhenAll(working.Append(tubeNodeWorking)), TimeSpan.FromSeconds(60), "the workers stopped");

        var reserves = reservedOnSurvivors.ToList();
        var twice = reserves.GroupBy(r => r.Id).Where(g => g.Count() > 1).ToList();
        output.WriteLine($"{mustRun.Count} jobs acknowledged in all, {unanswered.Count} puts without an INSERTED; {reserves.Count} reserves on the survivors, " +
                         $"{reservedOnTubeNode.Count} on {tubeNode.Name} ({deletedOnTubeNode.Count} deleted there); {twice.Count} jobs reserved more than once: " +
                         string.Join(", ", twice.Take(20).Select(g => $"{g.Key} on {string.Join("+", g.Select(r => r.Node))}")));
        Assert.True(Missing().Count == 0, $"acknowledged jobs never reserved on a survivor: {string.Join(", ", Missing())}\n{Logs()}");
        // Reserved jobs whose id no put was answered with: a put in flight at the kill, written by the dead
        // node and sent again by its connection (A_put_written_by_the_tubes_node_just_before_it_dies_is_in_the_tube_once
        // provokes it and asserts it does not happen). Only reported here: it depends on the moment of the kill.
        var unknown = reserves.Select(r => r.Id).Concat(reservedOnTubeNode).Where(id => !bodies.ContainsKey(id)).Distinct().Order().ToList();
        var byBody = bodies.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.First().Key);
        output.WriteLine($"{unknown.Count} reserved jobs have an id no put was answered with: " +
                         string.Join(", ", unknown.Select(id => $"{id} '{reservedBodies[id]}' (INSERTED as {(byBody.TryGetValue(reservedBodies[id], out var as_) ? as_.ToString(CultureInfo.InvariantCulture) : "none")})")));
        Assert.All(heldIds, id => Assert.Contains(id, reserves.Select(r => r.Id)));
        // The survivors' clients saw no error but INTERNAL_ERROR for commands in flight to the dead node
        // (their outcome unknown): no put answered otherwise, no reserve or delete answered wrong, no
        // connection closed. In flight means sent before the survivor could know the node was gone: before
        // the kill, or in the moment between the kill and the cluster removing the node (a survivor sends
        // to the dead node until then, and can't tell a lost command from one applied). Once a survivor has
        // served a command sent after the kill (a put INSERTED, a reserve answered), it knows: nothing
        // sent through it after that is answered INTERNAL_ERROR.
        servedAfterKill.TryAdd(survivors[0].Name, firstAfter.Answered);
        servedAfterKill.AddOrUpdate(survivors[0].Name, firstAfter.Answered, (_, t) => Math.Min(t, firstAfter.Answered));
        output.WriteLine($"{unknownOutcome.Count} commands answered INTERNAL_ERROR: {string.Join(", ", unknownOutcome.Select(u => $"{u.What} sent {Ms(killedAt, u.Sent)} ms after the kill"))}; " +
                         $"served after the kill: {string.Join(", ", servedAfterKill.Select(kv => $"{kv.Key} at {Ms(killedAt, kv.Value)} ms"))}");
        bool SentOnceKnown((string What, long Sent) u) =>
            u.Sent > killedAt && survivors.Any(n => u.What.EndsWith($"through {n.Name}", StringComparison.Ordinal)
                                                   && servedAfterKill.TryGetValue(n.Name, out var known) && u.Sent > known);
        var problems = odd.Concat(unanswered.Select(u => $"put through {survivors[0].Name}: {u}"))
            .Concat(unknownOutcome.Where(SentOnceKnown).Select(u => $"{u.What}: INTERNAL_ERROR, sent {Ms(killedAt, u.Sent)} ms after the kill, after the node served commands sent after it")).ToList();
        Assert.True(problems.Count == 0, $"{problems.Count} commands through the survivors failed:\n{string.Join("\n", problems.Take(40))}\n{Logs()}");
    });

    /// <summary>
    /// The first commands a survivor gets just after the tube's node dies, on new connections: a put, and
    /// a reserve, each answered right (USING, INSERTED; WATCHING, RESERVED) within <see cref="AnsweredBound"/>
    /// of the kill, as the survivors serve again within about 5 s (fast profile).
    /// </summary>
    /// <remarks>
    /// Failed until c5db4c2: a new connection looks its tubes up through the hub's ClusterSingletonProxy
    /// (GetTube), and until the cluster has removed the dead node (~3.5 s with the fast profile) the proxy
    /// still sends to the dead singleton, which loses the message (the survivor logged "Message [GetTube]
    /// from [akka://linda/temp/..] to [akka://linda/deadLetters] was not delivered"). The lookup waited
    /// out the 30 s ask timeout: at 7e9c9e8 the put was answered INTERNAL_ERROR and the reserve's
    /// connection closed; at 4c0bec5 the replies were right but came ~30.5 s after the kill.
    /// </remarks>
    [Fact]
    public Task Right_after_the_tubes_node_is_SIGKILLed_a_new_connection_on_a_survivor_gets_its_put_and_reserve_answered() => WithLogs(async () =>
    {
        var nodes = await StartCluster();
        using (var c = await Connect(nodes[1].Port, "n2 producer"))
        {
            await c.Use("work");
            for (var i = 0; i < 10; i++)
                Inserted(await c.AskPut(1024, 0, 10, $"before {i}"), $"put #{i} through n2");
        }
        var (tubeNode, survivors) = await TubeNode(nodes);

        tubeNode.Kill();
        var killedAt = Stopwatch.GetTimestamp(); // the process is gone: what is sent from now on can't reach it
        // Each command and the reply it must get (a trailing * stands for the rest of the line).
        (string Command, string Expected)[] putSession = [("use work", "USING work"), (BeanstalkClient.PutFrame(1024, 0, 10, "after the kill").TrimEnd('\r', '\n'), "INSERTED *")];
        (string Command, string Expected)[] reserveSession = [("watch work", "WATCHING 2"), ("ignore default", "WATCHING 1"), ("reserve-with-timeout 20", "RESERVED *")];
        var sessions = new[] { (Node: survivors[0], Session: putSession), (Node: survivors[1], Session: reserveSession) }
            .Select(s => (s.Node, s.Session, Run: Task.Run(() => Session(s.Node, s.Session, killedAt)))).ToList();
        var problems = new List<string>();
        foreach (var (node, session, run) in sessions)
        {
            var (replies, endedAt) = await run;
            for (var i = 0; i < session.Length; i++)
            {
                var (command, expected) = session[i];
                var (reply, at) = i < replies.Count ? replies[i] : ("(not sent)", 0);
                var line = $"{node.Name}, new connection: {command.Split("\r\n")[0]} -> {reply.Split("\n")[0]} ({at:F0} ms after the kill)";
                output.WriteLine(line);
                var ok = expected.EndsWith('*') ? reply.StartsWith(expected[..^1], StringComparison.Ordinal) : reply == expected;
                if (!ok)
                    problems.Add($"{line} (expected {expected})");
            }
            output.WriteLine($"{node.Name}: the session ended {endedAt:F0} ms after the kill");
            if (endedAt > AnsweredBound.TotalMilliseconds)
                problems.Add($"{node.Name}: commands sent just after the kill were answered only {endedAt:F0} ms after it (bound {AnsweredBound.TotalSeconds} s)");
        }
        // The same, sent again now, for the record: the survivors do serve.
        using (var again = await Connect(survivors[0].Port, "put again"))
            output.WriteLine($"a put sent again {Ms(killedAt, Stopwatch.GetTimestamp())} ms after the kill: {await again.Ask("use work")}, {await again.AskPut(1024, 0, 10, "again")}");
        Assert.True(problems.Count == 0, $"{string.Join("\n", problems)}\n{Logs()}");
    });

    /// <summary>
    /// A put whose event the tube's node has written to PostgreSQL, but which it never answered because it
    /// died: its outcome is unknown to the survivor the client talks to, which answers INTERNAL_ERROR
    /// rather than send it again (a second send would put the job in the tube twice, once under an id no
    /// client knows: the bug this spec found). The tube holds the job once. The test makes the moment
    /// certain: a trigger holds the write's COMMIT for 3 s, the node is frozen (SIGSTOP) meanwhile, and
    /// SIGKILLed once the write is in.
    /// </summary>
    [Fact]
    public Task A_put_written_by_the_tubes_node_just_before_it_dies_is_in_the_tube_once() => WithLogs(async () =>
    {
        var nodes = await StartCluster();
        var (tubeNode, survivors) = await TubeNode(nodes);
        using var producer = await Connect(survivors[0].Port, "producer");
        await producer.Use("work");
        var ids = new Dictionary<ulong, string>();
        for (var i = 0; i < 10; i++)
            ids[Inserted(await producer.AskPut(1024, 0, 60, $"before {i}"), $"put #{i}")] = $"before {i}";

        await using var watcher = new NpgsqlConnection(_db);
        await watcher.OpenAsync();
        var tables = await Strings(watcher, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
        output.WriteLine($"tables: {string.Join(", ", tables)}");
        Assert.Contains("journal", tables);
        // A trigger run at commit time holds the put's COMMIT for 3 s, before the write is durable.
        await Execute(watcher, """
            CREATE FUNCTION linda_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER linda_test_slow_commit AFTER INSERT ON journal DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION linda_test_slow_commit();
            """);
        var rowsBefore = await Count(watcher, "SELECT count(*) FROM journal");
        await producer.Write(BeanstalkClient.PutFrame(1024, 0, 60, "the one"));
        await Until(async () => await Count(watcher, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'") > 0,
            TimeSpan.FromSeconds(30), "the put's write is committing");
        // Frozen now, the node can't answer the put once the write is done.
        await Signal("STOP", tubeNode.Pid);
        await Until(async () => await Count(watcher, "SELECT count(*) FROM journal") > rowsBefore, TimeSpan.FromSeconds(30),
            "the frozen node's write committed");
        await Execute(watcher, "DROP TRIGGER linda_test_slow_commit ON journal; DROP FUNCTION linda_test_slow_commit();");
        output.WriteLine($"journal rows: {rowsBefore} before the put, {await Count(watcher, "SELECT count(*) FROM journal")} now, written by the frozen node");
        tubeNode.Kill();
        var killedAt = Stopwatch.GetTimestamp();

        var reply = await producer.ReadLine();
        output.WriteLine($"the put was answered {reply} {Ms(killedAt, Stopwatch.GetTimestamp())} ms after the kill");
        // The survivor can't know whether the dead node wrote the put: it says so, and does not send it again.
        Assert.Equal("INTERNAL_ERROR", reply);

        // The tube holds the 11 jobs, each once.
        using var check = await Connect(survivors[1].Port, "check");
        Assert.Equal("WATCHING 2", await check.Ask("watch work"));
        Assert.Equal("WATCHING 1", await check.Ask("ignore default"));
        var found = new List<(ulong Id, string Body)>();
        while (true)
        {
            var (line, body) = await check.AskJob("reserve-with-timeout 0");
            if (line == "TIMED_OUT")
                break;
            Assert.StartsWith("RESERVED ", line);
            var id = ulong.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
            found.Add((id, body!));
            Assert.Equal("DELETED", await check.Ask($"delete {id}"));
        }
        output.WriteLine($"the tube held: {string.Join(", ", found.Select(f => $"{f.Id} '{f.Body}'"))}");
        var expected = ids.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} '{kv.Value}'").Append("'the one' under the next id");
        // The ten acknowledged jobs, and the one the dead node wrote, each once.
        var theOne = found.Where(f => f.Body == "the one").ToList();
        Assert.True(found.Count == ids.Count + 1 && theOne.Count == 1 && found.Except(theOne).All(f => ids.TryGetValue(f.Id, out var b) && b == f.Body),
            $"the tube should hold {string.Join(", ", expected)}; it held {string.Join(", ", found.Select(f => $"{f.Id} '{f.Body}'"))}\n{Logs()}");
    });

    private static async Task<List<string>> Strings(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var list = new List<string>();
        while (await reader.ReadAsync())
            list.Add(reader.GetValue(0)?.ToString() ?? "");
        return list;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> Count(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Sends signal <paramref name="name"/> (STOP, CONT...) to process <paramref name="pid"/> with kill(1).</summary>
    private static async Task Signal(string name, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{name}", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run kill");
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Sends each command of <paramref name="session"/> on a new connection to <paramref name="node"/>; its replies (a body-carrying reply with its body), each with when it came, and when the session ended, in ms after <paramref name="since"/>.</summary>
    private async Task<(List<(string Reply, double At)> Replies, double EndedAt)> Session(LindaServerProcess node, (string Command, string Expected)[] session, long since)
    {
        var replies = new List<(string, double)>();
        try
        {
            using var c = await Connect(node.Port, $"{node.Name} session");
            foreach (var (command, _) in session)
            {
                var (reply, body) = await c.AskJob(command);
                replies.Add((body is null ? reply : $"{reply}\n{body}", Stopwatch.GetElapsedTime(since).TotalMilliseconds));
            }
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or TimeoutException)
        {
            replies.Add(($"{e.GetType().Name}: {e.Message}", Stopwatch.GetElapsedTime(since).TotalMilliseconds));
        }
        return (replies, Stopwatch.GetElapsedTime(since).TotalMilliseconds);
    }

    /// <summary>
    /// Three servers on one new PostgreSQL database, fast failover, n1 the seed; returns once each answers
    /// <c>stats</c>. The queues' shard region does not rebalance (a rebalance round an hour): a tube's
    /// queue stays on the node it started on until that node dies. The placement is Linda's default, or
    /// <c>LINDA_TEST_PLACEMENT</c>'s.
    /// </summary>
    private async Task<List<LindaServerProcess>> StartCluster()
    {
        var db = _db = await fixture.Server.CreateDatabaseAsync();
        var config = Data.File("no-rebalance.conf");
        // LINDA_TEST_PLACEMENT=singleton runs the cluster specs on the one tube hub.
        File.WriteAllText(config, "linda.sharding.rebalance-interval = 1h\n" + (LindaHost.TestPlacement is { } placement ? $"linda.placement = {placement.ToString().ToLowerInvariant()}\n" : ""));
        return await StartClusterOf3(db, config);
    }

    /// <summary>
    /// The node the tube "work"'s queue runs on, as the nodes' logs say (on the sharded placement the node
    /// the region placed it on; on the singleton placement the tube hub's, the oldest); and the others.
    /// </summary>
    private async Task<(LindaServerProcess Host, LindaServerProcess[] Others)> TubeNode(List<LindaServerProcess> nodes)
    {
        using (var c = await Connect(nodes[0].Port, "maker of work"))
            await c.Use("work"); // the tube exists, and its queue runs, from here on
        await Until(() => nodes.Count(n => n.Hosts("work")) == 1, StartBound, "tube work's queue runs on one node",
            () => string.Join("; ", nodes.Select(n => $"{n.Name}: {string.Join(",", n.TubesHere)}")));
        var host = nodes.Single(n => n.Hosts("work"));
        var directory = nodes.FirstOrDefault(n => n.HubHere.IsCompleted);
        output.WriteLine($"tube work's queue runs on {host.Name}; /user/linda-beanstalk (the tube directory, or the singleton hub) on {directory?.Name ?? "?"}");
        return (host, nodes.Where(n => n != host).ToArray());
    }

    private static long Ms(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>
    /// Puts "PREFIX N" into "work" through <paramref name="node"/>, <paramref name="batch"/> pipelined at a
    /// time, until stopped; notes each INSERTED id with its body and when it was sent and answered, and
    /// every other outcome. A lost connection is opened again.
    /// </summary>
    private async Task Produce(LindaServerProcess node, string prefix, int batch, CancellationToken stop, ConcurrentDictionary<ulong, string> bodies,
        ConcurrentDictionary<ulong, (long Sent, long Answered)> acked, ConcurrentQueue<string> unanswered,
        ConcurrentQueue<(string What, long Sent)> unknownOutcome)
    {
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            BeanstalkClient? c = null;
            var sent = new List<string>();
            try
            {
                c = await Connect(node.Port, $"{node.Name} producer");
                await c.Use("work");
                while (!stop.IsCancellationRequested)
                {
                    sent.Clear();
                    var frames = new StringBuilder();
                    for (var k = 0; k < batch; k++, n++)
                    {
                        var body = $"{prefix} {n}";
                        sent.Add(body);
                        frames.Append(BeanstalkClient.PutFrame(1024, 0, 10, body));
                    }
                    var at = Stopwatch.GetTimestamp();
                    await c.Write(frames.ToString());
                    while (sent.Count > 0)
                    {
                        var reply = await c.ReadLine();
                        if (reply.StartsWith("INSERTED ", StringComparison.Ordinal))
                        {
                            var id = ulong.Parse(reply["INSERTED ".Length..], CultureInfo.InvariantCulture);
                            if (!bodies.TryAdd(id, sent[0]))
                                unanswered.Enqueue($"{sent[0]}: INSERTED {id}, an id given before to '{bodies[id]}'");
                            acked[id] = (at, Stopwatch.GetTimestamp());
                        }
                        else if (reply == "INTERNAL_ERROR")
                            unknownOutcome.Enqueue(($"put '{sent[0]}' through {node.Name}", at));
                        else
                            unanswered.Enqueue($"{sent[0]}: {reply}");
                        sent.RemoveAt(0);
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or ObjectDisposedException or TimeoutException)
            {
                foreach (var body in sent)
                    unanswered.Enqueue($"{body}: {e.GetType().Name}");
            }
            finally
            {
                c?.Dispose();
            }
        }
    }

    /// <summary>
    /// Reserves from "work" through <paramref name="node"/> and deletes what it got, until stopped; notes
    /// every job reserved (and, if <paramref name="deleted"/> is given, every DELETED). On the node to be
    /// killed (<paramref name="deleted"/> given) a lost connection ends it; elsewhere it is an unexpected
    /// reply, and the connection is opened again.
    /// </summary>
    private async Task Work(LindaServerProcess node, CancellationToken stop, ConcurrentDictionary<ulong, string> bodies,
        ConcurrentQueue<string> odd, Action<ulong, string, long> reserved, ConcurrentDictionary<ulong, byte>? deleted,
        ConcurrentQueue<(string What, long Sent)> unknownOutcome)
    {
        var toBeKilled = deleted is not null;
        while (!stop.IsCancellationRequested)
        {
            BeanstalkClient? c = null;
            try
            {
                c = await Connect(node.Port, $"{node.Name} worker");
                await c.Ask("watch work");
                await c.Ask("ignore default");
                while (!stop.IsCancellationRequested)
                {
                    var reserveSent = Stopwatch.GetTimestamp();
                    var (reply, body) = await c.AskJob("reserve-with-timeout 1");
                    if (reply == "TIMED_OUT")
                        continue;
                    var words = reply.Split(' ');
                    if (words is not ["RESERVED", var idText, _])
                    {
                        odd.Enqueue($"{node.Name}: reserve-with-timeout 1: {reply}");
                        continue;
                    }
                    var id = ulong.Parse(idText, CultureInfo.InvariantCulture);
                    reserved(id, body!, reserveSent);
                    if (bodies.TryGetValue(id, out var put) && put != body)
                        odd.Enqueue($"{node.Name}: job {id} has body '{body}', put as '{put}'");
                    var deleteSent = Stopwatch.GetTimestamp();
                    var verdict = await c.Ask($"delete {id}");
                    if (verdict == "DELETED")
                        deleted?.TryAdd(id, 0);
                    else if (verdict == "INTERNAL_ERROR")
                        unknownOutcome.Enqueue(($"delete {id} through {node.Name}", deleteSent));
                    else if (verdict != "NOT_FOUND") // NOT_FOUND: its ttr ran out meanwhile (the failover), it comes round again
                        odd.Enqueue($"{node.Name}: delete {id}: {verdict}");
                }
            }
            catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or ObjectDisposedException or TimeoutException)
            {
                if (toBeKilled)
                    return;
                if (!stop.IsCancellationRequested)
                    odd.Enqueue($"{node.Name} worker: {e.GetType().Name}: {e.Message}");
            }
            finally
            {
                c?.Dispose();
            }
        }
    }

    private static async Task<bool> Empty(IEnumerable<LindaServerProcess> nodes, string tube)
    {
        try
        {
            foreach (var node in nodes)
            {
                using var c = await BeanstalkClient.Connect(node.Port, $"{node.Name} stats");
                var (_, s) = await c.AskYaml($"stats-tube {tube}");
                if (s is null || Long(s["current-jobs-ready"]) + Long(s["current-jobs-reserved"]) + Long(s["current-jobs-delayed"]) + Long(s["current-jobs-buried"]) != 0)
                    return false;
            }
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or TimeoutException)
        {
            return false;
        }
    }

    // ================================================================ helpers

    private static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);
}
