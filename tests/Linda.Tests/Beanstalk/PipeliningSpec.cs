using System.Diagnostics;
using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Linda.Beanstalk;
using Linda.Persistence;
using Linda.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// Commands a client sends without waiting for their replies (pipelined), over real TCP against the
/// in-process front end: they are answered in order; those that may go out at once do, so commands
/// that arrive together reach the queue together and share its journal writes; and a command that
/// waits (a reserve) holds back the ones behind it, as beanstalkd processes a connection's commands one
/// after another. The spec reads the queues' stats through Linda's API and their journal rows from
/// the SQLite file.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class PipeliningSpec : IAsyncLifetime
{
    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(30);

    private readonly TempFolder _folder = new();
    private ActorSystem _system = null!;
    private BeanstalkServer _server = null!;

    private string DatabasePath => _folder.File("linda.db");

    public Task InitializeAsync()
    {
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING");
        _system = ActorSystem.Create("beanstalk", SqlitePersistence.Setup(DatabasePath, config));
        _server = BeanstalkServer.Start(_system, LindaSettings.Create(_system), TestPrograms.FreePort());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _system.Terminate();
        _folder.Dispose();
    }

    // ================================================================ helpers

    private Task<BeanstalkClient> Connect(string name = "client") => BeanstalkClient.Connect(_server.Port, name, TimeSpan.FromSeconds(60));

    private Task<BeanstalkProtocol.Tube> Tube(string name) =>
        _system.ActorSelection("/user/beanstalk-tubes").Ask<BeanstalkProtocol.Tube>(new BeanstalkProtocol.GetTube(name), Ask);

    private static Task<QueueStats> Stats(BeanstalkProtocol.Tube tube) => tube.Queue.Ask<QueueStats>(GetStats.Instance, Ask);

    private static Task<IReply> GetJob(BeanstalkProtocol.Tube tube, string idOrSeq) => tube.Queue.Ask<IReply>(new GetJob(idOrSeq), Ask);

    /// <summary>Watches only <paramref name="tube"/> (so a reserve that doesn't wait goes out at once) and uses it.</summary>
    private static async Task UseOnly(BeanstalkClient c, string tube)
    {
        await c.Use(tube);
        Assert.Equal("WATCHING 2", await c.Ask($"watch {tube}"));
        Assert.Equal("WATCHING 1", await c.Ask("ignore default"));
    }

    /// <summary>The events of a tube's queue, one list per journal row, in order.</summary>
    private List<IReadOnlyList<IEvent>> JournalRows(string tube)
    {
        using var connection = new SqliteConnection(SqlitePersistence.ConnectionString(DatabasePath));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT message, manifest, identifier FROM journal WHERE persistence_id = $p ORDER BY sequence_number";
        command.Parameters.AddWithValue("$p", JobQueueActor.PersistenceIdOf(tube));
        using var reader = command.ExecuteReader();
        var rows = new List<IReadOnlyList<IEvent>>();
        while (reader.Read())
        {
            var bytes = (byte[])reader["message"];
            var manifest = reader.IsDBNull(1) ? "" : reader.GetString(1);
            var batch = Assert.IsType<EventBatch>(_system.Serialization.Deserialize(bytes, reader.GetInt32(2), manifest));
            rows.Add(batch.Events);
        }
        return rows;
    }

    private static string Describe(List<IReadOnlyList<IEvent>> rows) =>
        string.Join(" | ", rows.Select(r => string.Join(", ", r.Select(e => e.GetType().Name + "(" + JobOf(e) + ")"))));

    private static string? JobOf(IEvent e) => e switch
    {
        JobPushed p => p.Job.Id,
        JobReserved r => r.JobId,
        JobCompleted c => c.JobId,
        JobDeleted d => d.JobId,
        JobReleased r => r.JobId,
        JobBuried b => b.JobId,
        _ => null,
    };

    private static ulong Inserted(string line)
    {
        Assert.StartsWith("INSERTED ", line);
        return ulong.Parse(line["INSERTED ".Length..], CultureInfo.InvariantCulture);
    }

    // ================================================================ in order, together

    [Fact]
    public async Task Many_puts_a_delete_of_a_held_job_and_a_reserve_in_one_write_are_answered_in_order()
    {
        const int puts = 200;
        using var c = await Connect();
        await UseOnly(c, "pipe");
        var held = await c.Put("held");
        await c.Reserve(held, "held");

        // One write: 200 puts (each more urgent than the one before), the delete of the held job, a reserve that doesn't wait.
        var write = new StringBuilder();
        for (var i = 0; i < puts; i++)
            write.Append(BeanstalkClient.PutFrame((uint)(1000 - i), 0, 60, $"job-{i}"));
        write.Append($"delete {held}\r\nreserve-with-timeout 0\r\n");
        await c.Write(write.ToString());

        for (var i = 0; i < puts; i++)
            Assert.Equal(held + 1 + (ulong)i, Inserted(await c.ReadLine()));
        Assert.Equal("DELETED", await c.ReadLine());
        // The reserve came after every put: it takes the most urgent, the last one.
        var last = held + puts;
        Assert.Equal($"RESERVED {last} 7", await c.ReadLine());
        Assert.Equal($"job-{puts - 1}", await c.ReadData(7));
        Assert.Equal(0, c.Pending);

        var tube = await Tube("pipe");
        var stats = await Stats(tube);
        Assert.Equal((puts - 1, 1, puts + 1L), (stats.Ready, stats.Reserved, stats.TotalJobs));
        Assert.IsType<NotFound>(await GetJob(tube, WireIds.JobRef(held)));

        // The puts went out without waiting for each other's replies: they share the queue's writes
        // (a put sent after the reply to the one before would be a write of its own).
        List<IReadOnlyList<IEvent>> rows = [];
        await Conditions.Until(() => (rows = JournalRows("pipe")).Sum(r => r.Count) == puts + 4, "the journal holds every event",
            detail: () => Describe(rows));
        var events = rows.SelectMany(r => r).ToList();
        var rowsWithPuts = rows.Count(r => r.Any(e => e is JobPushed p && p.Job.Id != "1"));
        Assert.True(rowsWithPuts <= puts / 4, $"{puts} pipelined puts took {rowsWithPuts} writes: {Describe(rows)}");
        // In the order sent: the puts, the delete (the held job's Complete), the reserve.
        Assert.Equal(Enumerable.Range(2, puts).Select(n => n.ToString(CultureInfo.InvariantCulture)),
            events.Skip(2).Take(puts).Select(e => Assert.IsType<JobPushed>(e).Job.Id));
        Assert.Equal(new JobCompleted(events[puts + 2].At, "1"), events[puts + 2]);
        Assert.Equal(WireIds.JobRef(last), Assert.IsType<JobReserved>(events[puts + 3]).JobId);
    }

    [Fact]
    public async Task A_delete_of_a_held_job_and_a_reserve_in_one_write_are_journaled_in_the_order_sent()
    {
        using var c = await Connect();
        await UseOnly(c, "pair");
        var a = await c.Put("a");
        var b = await c.Put("b");
        await c.Reserve(a, "a");
        // Idle: the lease's event is written and nothing else waits.
        List<IReadOnlyList<IEvent>> rows = [];
        await Conditions.Until(() => (rows = JournalRows("pair")).SelectMany(r => r).Any(e => e is JobReserved), "the lease is in the journal");

        await c.Write($"delete {a}\r\nreserve-with-timeout 0\r\n");
        Assert.Equal("DELETED", await c.ReadLine());
        Assert.Equal($"RESERVED {b} 1", await c.ReadLine());
        Assert.Equal("b", await c.ReadData(1));

        await Conditions.Until(() => (rows = JournalRows("pair")).Sum(r => r.Count) == 5, "the delete and the reserve are in the journal",
            detail: () => Describe(rows));
        // Usually one row, but two when the queue writes between the two commands' arrival (a loaded
        // machine): what holds either way is their order.
        var events = rows.SelectMany(r => r).ToList();
        Assert.Equal(WireIds.JobRef(a), Assert.IsType<JobCompleted>(events[^2]).JobId);
        Assert.Equal(WireIds.JobRef(b), Assert.IsType<JobReserved>(events[^1]).JobId);
    }

    // ================================================================ a reserve that waits

    [Fact]
    public async Task A_put_behind_a_waiting_reserve_waits_for_it_to_time_out()
    {
        using var c = await Connect();
        var tube = await Tube("default");
        var clock = Stopwatch.StartNew();
        await c.Write("reserve-with-timeout 5\r\n" + BeanstalkClient.PutFrame(0, 0, 60, "mine"));

        // The reserve waits at the queue, and the put behind it has not gone out (beanstalkd reads the
        // connection's next command only once the reserve is answered).
        // One reply of the queue shows both. (Looked for while the reserve has time left: on a machine so
        // slow that it is over before the queue is asked, the order of the replies below still tells.)
        var waiting = await Conditions.Eventually(async () => await Stats(tube) is var s && (s.Waiting == 1 || clock.Elapsed > TimeSpan.FromSeconds(4)) ? s : null,
            "the reserve waits at the queue");
        if (waiting.Waiting == 1)
            Assert.Equal(0, waiting.TotalJobs);

        Assert.Equal("TIMED_OUT", await c.ReadLine());
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(4.5), $"timed out after {clock.Elapsed}, not 5 s");
        var id = Inserted(await c.ReadLine());
        Assert.Equal(0, c.Pending);

        // The job was put after the reserve was over: no one has reserved it.
        var job = BeanstalkClient.ParseYaml(await c.AskData($"stats-job {id}"));
        Assert.Equal(("ready", "0"), (job["state"], job["reserves"]));
        await c.Reserve(id, "mine", "reserve-with-timeout 0");
    }

    [Fact]
    public async Task A_put_behind_a_waiting_reserve_goes_out_once_the_reserve_got_a_job()
    {
        using var c = await Connect("waiting");
        using var other = await Connect("other");
        var tube = await Tube("default");
        await c.Write("reserve-with-timeout 60\r\n" + BeanstalkClient.PutFrame(0, 0, 60, "mine"));
        await Conditions.Until(async () => (await Stats(tube)).Waiting == 1, "the reserve waits at the queue");

        var theirs = await other.Put("theirs");
        Assert.Equal($"RESERVED {theirs} 6", await c.ReadLine());
        Assert.Equal("theirs", await c.ReadData(6));
        // The own put went out after the reserve got its job: the next id.
        Assert.Equal(theirs + 1, Inserted(await c.ReadLine()));
        Assert.Equal("DELETED", await c.Ask($"delete {theirs}"));
        var mine = BeanstalkClient.ParseYaml(await other.AskData($"stats-job {theirs + 1}"));
        Assert.Equal(("ready", "0"), (mine["state"], mine["reserves"]));
    }

    [Fact]
    public async Task Closing_the_socket_while_a_reserve_waits_calls_the_wait_off()
    {
        var tube = await Tube("default");
        using var observer = await Connect("observer");
        using (var waiting = await Connect("waiting"))
        {
            await waiting.Write("reserve\r\n");
            await Conditions.Until(async () => (await Stats(tube)).Waiting == 1, "the reserve waits at the queue");
            var before = BeanstalkClient.ParseYaml(await observer.AskData("stats-tube default"));
            Assert.Equal("1", before["current-waiting"]);
        }

        // The front end notices the close, and the queue drops the connection's wait.
        await Conditions.Until(async () => (await Stats(tube)).Waiting == 0, "the queue no longer holds the closed connection's reserve");
        await Conditions.Until(async () => BeanstalkClient.ParseYaml(await observer.AskData("stats"))["current-connections"] == "1",
            "the front end counts the connection closed");
        var after = BeanstalkClient.ParseYaml(await observer.AskData("stats-tube default"));
        Assert.Equal("0", after["current-waiting"]);

        using var producer = await Connect("producer");
        var id = await producer.Put("after", ttr: 3600);
        var job = BeanstalkClient.ParseYaml(await producer.AskData($"stats-job {id}"));
        Assert.Equal(("ready", "0"), (job["state"], job["reserves"]));
        var stats = BeanstalkClient.ParseYaml(await producer.AskData("stats-tube default"));
        Assert.Equal(("1", "0"), (stats["current-jobs-ready"], stats["current-jobs-reserved"]));
        Assert.Equal((1, 0), ((await Stats(tube)).Ready, (await Stats(tube)).Reserved));
        await observer.Reserve(id, "after", "reserve-with-timeout 0");
    }

    // ================================================================ Linda's ids, beanstalkd's client

    [Fact]
    public async Task A_job_pushed_through_Linda_with_an_id_of_its_own_is_worked_by_a_beanstalkd_client_under_its_wire_id()
    {
        var tube = await Tube("shared");
        var first = await tube.Queue.Ask<Pushed>(new Push("shared", JobPayload.Raw("beanstalk", "first"u8.ToArray())), Ask);
        var own = await tube.Queue.Ask<Pushed>(new Push("shared", JobPayload.Raw("beanstalk", "own id"u8.ToArray())) { Id = "report-7", Priority = 0 }, Ask);
        Assert.Equal(("1", 1L, "report-7", 2L), (first.JobId, first.Seq, own.JobId, own.Seq));
        var wire = WireIds.Of(tube.Number, own.Seq);

        using var c = await Connect();
        await UseOnly(c, "shared");
        // Reserved in the queue's order (it is the most urgent), under its wire id.
        await c.Reserve(wire, "own id", "reserve-with-timeout 0");
        var view = Assert.IsType<JobView>(await GetJob(tube, "report-7"));
        Assert.Equal((JobState.Reserved, 1), (view.State, view.Reserves));
        Assert.Equal("TOUCHED", await c.Ask($"touch {wire}"));

        Assert.Equal("RELEASED", await c.Ask($"release {wire} 5 0"));
        view = Assert.IsType<JobView>(await GetJob(tube, "report-7"));
        Assert.Equal((JobState.Ready, 5u, 1), (view.State, view.Priority, view.Releases));

        await c.Reserve(wire, "own id", "reserve-with-timeout 0");
        Assert.Equal("BURIED", await c.Ask($"bury {wire} 3"));
        view = Assert.IsType<JobView>(await GetJob(tube, "report-7"));
        Assert.Equal((JobState.Buried, 3u), (view.State, view.Priority));
        Assert.Equal($"FOUND {wire} 6", await c.Ask("peek-buried"));
        Assert.Equal("own id", await c.ReadData(6));
        var stats = BeanstalkClient.ParseYaml(await c.AskData($"stats-job {wire}"));
        Assert.Equal((wire.ToString(CultureInfo.InvariantCulture), "shared", "buried", "2", "1", "1"),
            (stats["id"], stats["tube"], stats["state"], stats["reserves"], stats["releases"], stats["buries"]));

        Assert.Equal("KICKED 1", await c.Ask("kick 1"));
        await c.Reserve(wire, "own id", "reserve-with-timeout 0");
        Assert.Equal("DELETED", await c.Ask($"delete {wire}"));
        Assert.Equal(new NotFound("report-7"), await GetJob(tube, "report-7"));
        Assert.Equal("NOT_FOUND", await c.Ask($"peek {wire}"));

        // The job with a generated id is next, under its own wire id.
        await c.Reserve(WireIds.Of(tube.Number, first.Seq), "first", "reserve-with-timeout 0");
    }
}
