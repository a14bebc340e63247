using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Linda.Beanstalk;
using Linda.Persistence;
using Linda.Tests.Infrastructure;
using Xunit;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// The beanstalkd server over real TCP: one ActorSystem on a SQLite file, the server on a free port,
/// and clients that speak the protocol byte for byte.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ServerSpec : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private ActorSystem _system = null!;
    private BeanstalkServer _server = null!;

    public Task InitializeAsync()
    {
        Start(TestPrograms.FreePort());
        return Task.CompletedTask;
    }

    private void Start(int port)
    {
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING");
        _system = ActorSystem.Create("beanstalk", SqlitePersistence.Setup(_folder.File("linda.db"), config));
        _server = BeanstalkServer.Start(_system, LindaSettings.Create(_system), port);
    }

    /// <summary>Stops the server and its ActorSystem, and starts both again on the same file and port.</summary>
    private async Task RestartAsync()
    {
        var port = _server.Port;
        await _server.DisposeAsync();
        await _system.Terminate();
        Start(port);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _system.Terminate();
        _folder.Dispose();
    }

    private Task<BeanstalkClient> Connect() => BeanstalkClient.Connect(_server.Port, readBound: TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Put_reserve_delete_keeps_a_binary_body()
    {
        using var c = await Connect();
        var body = "a\r\nb\0\xff\r\n";
        var id = await c.Put(body);
        Assert.Equal($"RESERVED {id} {body.Length}", await c.Ask("reserve"));
        Assert.Equal(body, await c.ReadData(body.Length));
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
        Assert.Equal("NOT_FOUND", await c.Ask($"delete {id}"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
    }

    [Fact]
    public async Task Release_with_a_delay_makes_the_job_ready_again_later()
    {
        using var c = await Connect();
        var id = await c.Put("job");
        await c.Reserve(id, "job");
        Assert.Equal("RELEASED", await c.Ask($"release {id} 5 1"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        await c.Reserve(id, "job", "reserve-with-timeout 30");
        Assert.Equal("NOT_FOUND", await c.Ask("release 999 0 0"));
    }

    [Fact]
    public async Task Bury_takes_the_job_out_of_reach()
    {
        using var c = await Connect();
        var id = await c.Put("job");
        await c.Reserve(id, "job");
        Assert.Equal("BURIED", await c.Ask($"bury {id} 7"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        Assert.Equal("NOT_FOUND", await c.Ask($"release {id} 0 0"));
        Assert.Equal("NOT_FOUND", await c.Ask($"bury {id} 7"));
    }

    [Fact]
    public async Task Touch_renews_only_a_held_lease()
    {
        using var c = await Connect();
        var id = await c.Put("job");
        Assert.Equal("NOT_FOUND", await c.Ask($"touch {id}"));
        await c.Reserve(id, "job");
        Assert.Equal("TOUCHED", await c.Ask($"touch {id}"));
        Assert.Equal("TOUCHED", await c.Ask($"touch {id}"));
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
    }

    [Fact]
    public async Task A_closed_connection_gives_its_reserved_job_back()
    {
        ulong id;
        using (var first = await Connect())
        {
            id = await first.Put("job", ttr: 3600);
            await first.Reserve(id, "job");
        }
        using var second = await Connect();
        await second.Reserve(id, "job", "reserve-with-timeout 30");
    }

    [Fact]
    public async Task A_client_that_closes_while_waiting_in_reserve_takes_no_job()
    {
        using (var waiting = await Connect())
        {
            // The reply to the first command shows that the server has read the reserve behind it.
            await waiting.Write("list-tube-used\r\nreserve\r\n");
            Assert.Equal("USING default", await waiting.ReadLine());
        }
        using var c = await Connect();
        var id = await c.Put("job", ttr: 3600);
        await c.Reserve(id, "job", "reserve-with-timeout 30");
    }

    [Fact]
    public async Task Another_connections_reserved_job_cannot_be_deleted()
    {
        using var holder = await Connect();
        using var other = await Connect();
        var id = await holder.Put("job");
        await holder.Reserve(id, "job");
        Assert.Equal("NOT_FOUND", await other.Ask($"delete {id}"));
        Assert.Equal("NOT_FOUND", await other.Ask($"release {id} 0 0"));
        Assert.Equal("DELETED", await holder.Ask($"delete {id}"));
        var ready = await holder.Put("ready job");
        Assert.Equal("DELETED", await other.Ask($"delete {ready}"));
    }

    [Fact]
    public async Task Use_watch_and_ignore()
    {
        using var c = await Connect();
        Assert.Equal("USING default", await c.Ask("list-tube-used"));
        Assert.Equal("USING foo", await c.Ask("use foo"));
        Assert.Equal("USING foo", await c.Ask("list-tube-used"));
        Assert.Equal("WATCHING 2", await c.Ask("watch foo"));
        Assert.Equal("WATCHING 2", await c.Ask("watch foo"));
        Assert.Equal("---\n- default\n- foo\n", await c.AskData("list-tubes-watched"));
        Assert.Equal("WATCHING 1", await c.Ask("ignore default"));
        Assert.Equal("NOT_IGNORED", await c.Ask("ignore foo"));
        Assert.Equal("WATCHING 1", await c.Ask("ignore bar"));

        var inFoo = await c.Put("foo job");
        Assert.Equal("USING default", await c.Ask("use default"));
        var inDefault = await c.Put("default job");
        Assert.NotEqual(inFoo, inDefault);
        await c.Reserve(inFoo, "foo job");
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        Assert.Equal("DELETED", await c.Ask($"delete {inDefault}"));
        Assert.Equal("DELETED", await c.Ask($"delete {inFoo}"));
    }

    [Fact]
    public async Task Pipelined_commands_are_answered_in_order()
    {
        using var c = await Connect();
        await c.Write("put 1 0 60 3\r\nabc\r\nput 0 0 60 2\r\nde\r\nreserve-with-timeout 0\r\nreserve-with-timeout 0\r\n"
            + "reserve-with-timeout 0\r\nbogus\r\npeek-ready\r\nlist-tube-used\r\n");
        var first = await c.ReadLine();
        var second = await c.ReadLine();
        Assert.StartsWith("INSERTED ", first);
        Assert.StartsWith("INSERTED ", second);
        // Priority 0 comes first.
        Assert.Equal($"RESERVED {second[9..]} 2", await c.ReadLine());
        Assert.Equal("de", await c.ReadData(2));
        Assert.Equal($"RESERVED {first[9..]} 3", await c.ReadLine());
        Assert.Equal("abc", await c.ReadData(3));
        Assert.Equal("TIMED_OUT", await c.ReadLine());
        Assert.Equal("UNKNOWN_COMMAND", await c.ReadLine());
        Assert.Equal("NOT_FOUND", await c.ReadLine());
        Assert.Equal("USING default", await c.ReadLine());
    }

    [Fact]
    public async Task Reserve_takes_the_most_urgent_job_over_every_watched_tube()
    {
        using var c = await Connect();
        Assert.Equal("USING a", await c.Ask("use a"));
        var a = await c.Put("a", priority: 5);
        Assert.Equal("USING b", await c.Ask("use b"));
        var b = await c.Put("b", priority: 3);
        var b2 = await c.Put("b2", priority: 5);
        Assert.True(b > a); // tube b was numbered after tube a
        Assert.Equal("WATCHING 2", await c.Ask("watch a"));
        Assert.Equal("WATCHING 3", await c.Ask("watch b"));
        await c.Reserve(b, "b");
        await c.Reserve(a, "a"); // same priority as b2: the lower id first
        await c.Reserve(b2, "b2");
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
    }

    [Fact]
    public async Task A_reserve_waiting_on_several_tubes_takes_the_first_job_put_in_any()
    {
        using var worker = await Connect();
        using var producer = await Connect();
        Assert.Equal("WATCHING 2", await worker.Ask("watch x"));
        Assert.Equal("WATCHING 3", await worker.Ask("watch y"));
        await worker.Write("reserve-with-timeout 60\r\n");
        Assert.Equal("USING y", await producer.Ask("use y"));
        // The put may come before the worker's reserve waits: either way the worker gets this one job.
        var id = await producer.Put("in y");
        Assert.Equal($"RESERVED {id} 4", await worker.ReadLine());
        Assert.Equal("in y", await worker.ReadData(4));
        // The waits on the other tubes were called off: a job put there now stays ready for someone else.
        Assert.Equal("USING x", await producer.Ask("use x"));
        var other = await producer.Put("in x");
        Assert.Equal("WATCHING 2", await producer.Ask("watch x"));
        await producer.Reserve(other, "in x", "reserve-with-timeout 30");
    }

    [Fact]
    public async Task A_reserve_during_the_safety_margin_of_a_held_job_is_answered_deadline_soon()
    {
        using var c = await Connect();
        var id = await c.Put("short", ttr: 1);
        await c.Reserve(id, "short");
        // ttr 1: the safety margin (the last second) starts at once; nothing else is ready.
        Assert.Equal("DEADLINE_SOON", await c.Ask("reserve-with-timeout 60"));
        Assert.Equal("DEADLINE_SOON", await c.Ask("reserve"));
        // A ready job is still handed out during the margin.
        var other = await c.Put("other");
        await c.Reserve(other, "other");
        Assert.Equal("DELETED", await c.Ask($"delete {other}"));
    }

    [Fact]
    public async Task A_job_whose_ttr_runs_out_is_ready_again_and_counted_as_a_timeout()
    {
        using var holder = await Connect();
        using var other = await Connect();
        var id = await holder.Put("brief", ttr: 1);
        await holder.Reserve(id, "brief");
        Assert.Equal("DEADLINE_SOON", await holder.Ask("reserve"));
        // The holder goes quiet; its lease ends a second after the reserve and the job is ready for the other.
        await other.Reserve(id, "brief", "reserve-with-timeout 10");
        var job = BeanstalkClient.ParseYaml(await other.AskData($"stats-job {id}"));
        Assert.Equal(("reserved", "2", "1"), (job["state"], job["reserves"], job["timeouts"]));
        Assert.Equal("NOT_FOUND", await holder.Ask($"delete {id}")); // reserved by the other connection now
        Assert.Equal("1", BeanstalkClient.ParseYaml(await other.AskData("stats"))["job-timeouts"]);
        Assert.Equal("DELETED", await other.Ask($"delete {id}"));
    }

    [Fact]
    public async Task A_holder_whose_lease_ran_out_can_still_delete_the_ready_job()
    {
        using var holder = await Connect();
        using var watcher = await Connect();
        var id = await holder.Put("brief", ttr: 1);
        await holder.Reserve(id, "brief");
        await Conditions.Until(async () => await watcher.Ask("peek-ready") is var line && line.StartsWith("FOUND", StringComparison.Ordinal)
            && await watcher.ReadData(5) == "brief", "the job is ready again after its ttr", TimeSpan.FromSeconds(30));
        // beanstalkd deletes a ready job for anyone, the holder of its ended lease too.
        Assert.Equal("DELETED", await holder.Ask($"delete {id}"));
        Assert.Equal("NOT_FOUND", await watcher.Ask($"peek {id}"));
    }

    [Fact]
    public async Task A_waiting_reserve_is_cut_short_when_a_held_job_reaches_its_safety_margin()
    {
        using var c = await Connect();
        var id = await c.Put("job", ttr: 3);
        await c.Reserve(id, "job");
        // The reserve waits until the margin (about 2 s from now), not its 60 s.
        Assert.Equal("DEADLINE_SOON", await c.Ask("reserve-with-timeout 60"));
        Assert.Equal("TOUCHED", await c.Ask($"touch {id}"));
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
    }

    [Fact]
    public async Task Reserve_job_kick_and_peek_reach_a_job_by_id_in_any_tube()
    {
        using var c = await Connect();
        Assert.Equal("USING t", await c.Ask("use t"));
        var delayed = await c.Put("later", delay: 3600);
        var buried = await c.Put("bad");
        Assert.Equal($"RESERVED {buried} 3", await c.Ask($"reserve-job {buried}"));
        Assert.Equal("bad", await c.ReadData(3));
        Assert.Equal("BURIED", await c.Ask($"bury {buried} 1"));
        Assert.Equal($"FOUND {buried} 3", await c.Ask("peek-buried"));
        Assert.Equal("bad", await c.ReadData(3));
        Assert.Equal($"FOUND {delayed} 5", await c.Ask("peek-delayed"));
        Assert.Equal("later", await c.ReadData(5));
        Assert.Equal("KICKED 1", await c.Ask("kick 10")); // buried jobs first
        Assert.Equal("KICKED", await c.Ask($"kick-job {delayed}"));
        Assert.Equal("NOT_FOUND", await c.Ask($"kick-job {delayed}"));
        using var other = await Connect();
        Assert.Equal($"RESERVED {delayed} 5", await other.Ask($"reserve-job {delayed}"));
        Assert.Equal("later", await other.ReadData(5));
        Assert.Equal("NOT_FOUND", await c.Ask($"reserve-job {delayed}")); // reserved by another connection
        Assert.Equal($"FOUND {delayed} 5", await c.Ask($"peek {delayed}"));
        Assert.Equal("later", await c.ReadData(5));
        Assert.Equal("NOT_FOUND", await c.Ask($"peek {delayed + (1UL << 50)}")); // no such tube
    }

    [Fact]
    public async Task Stats_job_and_stats_tube_count_what_happened()
    {
        using var c = await Connect();
        Assert.Equal("USING s", await c.Ask("use s"));
        var id = await c.Put("job", priority: 7, ttr: 100);
        await c.Reserve(id, "job", "reserve-job " + id);
        Assert.Equal("RELEASED", await c.Ask($"release {id} 9 120"));
        var job = BeanstalkClient.ParseYaml(await c.AskData($"stats-job {id}"));
        Assert.Equal(("s", "delayed", "9", "120", "100", "1", "1"),
            (job["tube"], job["state"], job["pri"], job["delay"], job["ttr"], job["reserves"], job["releases"]));
        Assert.InRange(long.Parse(job["time-left"]), 100, 120);
        var tube = BeanstalkClient.ParseYaml(await c.AskData("stats-tube s"));
        Assert.Equal(("1", "0", "1", "1"), (tube["current-jobs-delayed"], tube["current-jobs-ready"], tube["total-jobs"], tube["current-using"]));
        Assert.Equal("PAUSED", await c.Ask("pause-tube s 60"));
        tube = BeanstalkClient.ParseYaml(await c.AskData("stats-tube s"));
        Assert.Equal("60", tube["pause"]);
        Assert.Equal("NOT_FOUND", await c.Ask("stats-tube nobody-here"));
        Assert.Contains("- s", await c.AskData("list-tubes"));
        var server = BeanstalkClient.ParseYaml(await c.AskData("stats"));
        Assert.Equal("1", server["current-jobs-delayed"]);
        Assert.Equal("1", server["current-connections"]);
    }

    [Fact]
    public async Task A_paused_tube_hands_out_nothing_until_the_pause_ends()
    {
        using var c = await Connect();
        var id = await c.Put("job");
        Assert.Equal("PAUSED", await c.Ask("pause-tube default 1"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        await c.Reserve(id, "job", "reserve-with-timeout 30");
        Assert.Equal("NOT_FOUND", await c.Ask("pause-tube no-such-tube 1"));
    }

    [Fact]
    public async Task In_drain_mode_puts_are_refused_and_the_rest_goes_on()
    {
        using var c = await Connect();
        var id = await c.Put("before");
        _server.Drain();
        Assert.Equal("DRAINING", await c.Ask("put 0 0 60 1\r\nx"));
        await c.Reserve(id, "before");
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
    }

    [Fact]
    public async Task Tube_numbers_and_job_ids_survive_a_restart()
    {
        ulong a, b;
        using (var c = await Connect())
        {
            a = await c.Put("in default");
            Assert.Equal("USING second", await c.Ask("use second"));
            b = await c.Put("in second");
        }
        await RestartAsync();
        using var again = await Connect();
        Assert.Equal($"FOUND {b} 9", await again.Ask($"peek {b}"));
        Assert.Equal("in second", await again.ReadData(9));
        Assert.Equal("USING second", await again.Ask("use second"));
        Assert.Equal(b + 1, await again.Put("next"));
        Assert.Equal("USING default", await again.Ask("use default"));
        Assert.Equal(a + 1, await again.Put("next"));
    }

    [Fact]
    public async Task A_tube_is_a_Linda_queue_both_ways()
    {
        var hub = _system.ActorSelection("/user/beanstalk-tubes");
        var tube = await hub.Ask<BeanstalkProtocol.Tube>(new BeanstalkProtocol.GetTube("shared"), TimeSpan.FromSeconds(30));
        // Pushed through Linda's API with a raw payload: reserved by a beanstalkd client, body exact.
        var pushed = await tube.Queue.Ask<JobQueue.Pushed>(new JobQueue.Push("shared", JobPayload.Raw("beanstalk", "from linda"u8.ToArray())), TimeSpan.FromSeconds(30));
        using var c = await Connect();
        Assert.Equal("WATCHING 2", await c.Ask("watch shared"));
        var id = WireIds.Of(tube.Number, pushed.Seq);
        await c.Reserve(id, "from linda");
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
        // Pushed with an id of its own: it has a wire id too (its sequence number), for every command.
        var own = await tube.Queue.Ask<JobQueue.Pushed>(new JobQueue.Push("shared", JobPayload.Raw("beanstalk", "own id"u8.ToArray())) { Id = "report-7" }, TimeSpan.FromSeconds(30));
        var ownId = WireIds.Of(tube.Number, own.Seq);
        var (_, stats) = await c.AskYaml($"stats-job {ownId}");
        Assert.Equal(ownId.ToString(), stats!["id"]);
        Assert.Equal("ready", stats["state"]);
        await c.Reserve(ownId, "own id");
        Assert.Equal("RELEASED", await c.Ask($"release {ownId} 5 0"));
        await c.Reserve(ownId, "own id");
        Assert.Equal("BURIED", await c.Ask($"bury {ownId} 1"));
        Assert.Equal("KICKED", await c.Ask($"kick-job {ownId}"));
        Assert.Equal("DELETED", await c.Ask($"delete {ownId}"));
        Assert.IsType<JobQueue.NotFound>(await tube.Queue.Ask<JobQueue.IReply>(new JobQueue.GetJob("report-7"), TimeSpan.FromSeconds(30)));
        // Put by a beanstalkd client: Linda's API sees the job and its bytes.
        Assert.Equal("USING shared", await c.Ask("use shared"));
        var put = await c.Put("from beanstalk");
        var view = await tube.Queue.Ask<JobView>(new JobQueue.GetJob(WireIds.JobRef(put)), TimeSpan.FromSeconds(30));
        Assert.Equal("from beanstalk", Encoding.Latin1.GetString(view.Job.Payload.Body.Span));
        Assert.Equal(JobState.Ready, view.State);
    }

    [Fact]
    public async Task Quit_closes_the_connection()
    {
        using var c = await Connect();
        await c.Write("quit\r\n");
        Assert.Equal(0, await c.ReadToEnd());
    }
}
