// Writes tests/Linda.Tests/Fixtures/journal-v1: a SQLite journal written by the Linda of commit 7bc0d94
// (one journal row per event), and the state that version recovers from it, as text. Run once:
//   dotnet run --project tests/Linda.Tests/Fixtures/journal-v1/generator -- OUTPUT_FOLDER
// The queue "events" has every kind of event and no snapshot; the queue "snap" has a snapshot and
// events after it; the tube hub numbers "default" and "emails", whose queue holds a raw job.
using Akka.Actor;
using Akka.Configuration;
using Linda;
using Linda.Beanstalk;
using Linda.Persistence;
using Linda.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using static Linda.JobQueue;

var output = Path.GetFullPath(args[0]);
Directory.CreateDirectory(output);
var db = Path.Combine(output, "linda.db");
foreach (var f in new[] { db, db + "-wal", db + "-shm" })
    File.Delete(f);

var clock = new ManualClock(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
var timeout = TimeSpan.FromSeconds(15);
var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(BeanstalkSerializer.Config);

var system = ActorSystem.Create("fixture", SqlitePersistence.Setup(db, config));
var settings = LindaSettings.Create(system);
var noSnapshots = settings with { SnapshotEvery = 0 };

void Step() => clock.Advance(TimeSpan.FromSeconds(1));

async Task<T> Ask<T>(IActorRef q, object command)
{
    Step();
    var reply = await q.Ask<IReply>(command, timeout);
    return reply is T t ? t : throw new InvalidOperationException($"{command} was answered {reply}");
}

// ---------------------------------------------------------------- queue "events": every event, no snapshot
var events = system.ActorOf(JobQueueActor.Props("events", noSnapshots, clock), "events");
await Ask<Pushed>(events, new Push("events", JobPayload.Create("work", "a", 1)) { Id = "a", Priority = 10 });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("work", "b")) { Id = "b", Priority = 5 });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("work", "c")) { Id = "c" });
await Ask<Pushed>(events, Later("events", JobPayload.Create("later"), TimeSpan.FromHours(1)) with { Id = "d" });
await Ask<Pushed>(events, new Push("events", JobPayload.Raw("beanstalk", [0, 1, 2, 255, 13, 10])) { Id = "e" });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("tick")) { Id = "p", Period = TimeSpan.FromMinutes(5), Priority = 0 });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("fragile")) { Id = "r", MaxRetries = 0 });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("short")) { Id = "x", TimeToRun = TimeSpan.FromMinutes(1) });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("held")) { Id = "h", TimeToRun = TimeSpan.FromHours(2) });
await Ask<Pushed>(events, new Push("events", JobPayload.Create("generated", "no id")));

var b = await Ask<Reserved>(events, new ReserveJob("b"));
await Ask<Touched>(events, new Touch("b", b.Token));
await Ask<Completed>(events, new Complete("b", b.Token));
var a = await Ask<Reserved>(events, new ReserveJob("a"));
await Ask<Released>(events, new Release("a", a.Token) { Delay = TimeSpan.FromMinutes(10), Priority = 3, Error = "try later" });
var c = await Ask<Reserved>(events, new ReserveJob("c"));
await Ask<Buried>(events, new Bury("c", c.Token, "broken input") { Priority = 2000 });
await Ask<Kicked>(events, new Kick(1));
c = await Ask<Reserved>(events, new ReserveJob("c"));
await Ask<Released>(events, new Release("c", c.Token));
var p = await Ask<Reserved>(events, new ReserveJob("p"));
await Ask<Completed>(events, new Complete("p", p.Token));
await Ask<KickedJob>(events, new KickJob("d"));
await Ask<Deleted>(events, new Delete("e"));

// A holder that dies: its lease is lost (LeaseLost); "r" has no retries left and is buried.
var holder = system.ActorOf(Props.Create(() => new Holder()), "holder");
Step();
events.Tell(new ReserveJob("r"), holder);
var held = await holder.Ask<Reserved>(Holder.Take.Instance, timeout);
if (held.Job.Id != "r")
    throw new InvalidOperationException("reserved the wrong job");
await holder.GracefulStop(timeout);
await WaitFor(async () => (await Ask<JobView>(events, new GetJob("r"))).State == JobState.Buried, "r buried");

// A lease that expires (time alone decides; nothing is written until the next command).
await Ask<Reserved>(events, new ReserveJob("x"));
clock.Advance(TimeSpan.FromMinutes(2));
await Ask<Paused>(events, new Pause(TimeSpan.FromHours(1)));
await Ask<Resumed>(events, JobQueue.Resume.Instance);
await Ask<Reserved>(events, new ReserveJob("h")); // still held at the end, by an asker that is gone
await Ask<Paused>(events, new Pause(TimeSpan.FromMinutes(30)));

// ---------------------------------------------------------------- queue "snap": a snapshot and events after it
var snap = system.ActorOf(JobQueueActor.Props("snap", settings with { SnapshotEvery = 4 }, clock), "snap");
for (var i = 1; i <= 5; i++)
    await Ask<Pushed>(snap, new Push("snap", JobPayload.Create("work", i)) { Id = "s" + i, Priority = (uint)(10 - i) });
await WaitFor(() => Task.FromResult(Rows(db, "snapshot", "linda-queue-snap") > 0), "snapshot saved");
var s5 = await Ask<Reserved>(snap, new Reserve(TimeSpan.Zero));
await Ask<Completed>(snap, new Complete(s5.Job.Id, s5.Token));
var s4 = await Ask<Reserved>(snap, new Reserve(TimeSpan.Zero));
await Ask<Released>(snap, new Release(s4.Job.Id, s4.Token) { Delay = TimeSpan.FromMinutes(1) });

// ---------------------------------------------------------------- the tube hub, and a tube's queue
var hub = system.ActorOf(TubeHub.Props(settings, 65_535), "hub");
await hub.Ask<BeanstalkProtocol.Tube>(new BeanstalkProtocol.GetTube("default"), timeout);
var emails = await hub.Ask<BeanstalkProtocol.Tube>(new BeanstalkProtocol.GetTube("emails"), timeout);
await Ask<Pushed>(emails.Queue, new Push("emails", JobPayload.Raw("beanstalk", "hello\r\nworld"u8.ToArray())) { MaxRetries = -1, Priority = 7 });

// ---------------------------------------------------------------- what this version recovers
await system.Terminate();
SqliteConnection.ClearAllPools();
var recovering = ActorSystem.Create("fixture", SqlitePersistence.Setup(db, config));
var inspect = typeof(JobQueueActor).GetNestedType("InspectState", System.Reflection.BindingFlags.NonPublic)!
    .GetField("Instance")!.GetValue(null)!;
foreach (var (name, queueSettings) in new[] { ("events", noSnapshots), ("snap", settings with { SnapshotEvery = 0 }), ("emails", TubeHub.ForTubes(noSnapshots, 65_535)) })
{
    var q = recovering.ActorOf(JobQueueActor.Props(name, queueSettings, clock), name);
    var state = await q.Ask<JobQueueSnapshot>(inspect, timeout);
    File.WriteAllText(Path.Combine(output, $"expected-{name}.txt"), StateText.Render(state));
}
var recoveredHub = recovering.ActorOf(TubeHub.Props(settings, 65_535), "hub");
var tubes = await recoveredHub.Ask<BeanstalkProtocol.TubeList>(BeanstalkProtocol.ListTubes.Instance, timeout);
File.WriteAllLines(Path.Combine(output, "expected-tubes.txt"), tubes.Tubes.Select(t => $"{t.Name} {t.Number}"));
File.WriteAllText(Path.Combine(output, "clock.txt"), clock.GetUtcNow().ToString("O") + "\n");
await recovering.Terminate();
SqliteConnection.ClearAllPools();

// One file, no WAL beside it.
using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
{
    connection.Open();
    using var checkpoint = connection.CreateCommand();
    checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;";
    checkpoint.ExecuteNonQuery();
}
Console.WriteLine($"fixture written to {output}: final time {clock.GetUtcNow():O}");
return;

static long Rows(string db, string table, string persistenceId)
{
    using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = $"SELECT count(*) FROM {table} WHERE persistence_id = $p";
    command.Parameters.AddWithValue("$p", persistenceId);
    return (long)command.ExecuteScalar()!;
}

static async Task WaitFor(Func<Task<bool>> condition, string what)
{
    for (var i = 0; i < 300; i++)
    {
        if (await condition())
            return;
        await Task.Delay(50);
    }
    throw new TimeoutException(what);
}

/// <summary>Holds a lease for the generator; answers Take with the Reserved it got.</summary>
internal sealed class Holder : ReceiveActor
{
    public sealed class Take
    {
        public static readonly Take Instance = new();
    }

    public Holder()
    {
        Reserved? got = null;
        IActorRef? asker = null;
        Receive<Reserved>(r =>
        {
            got = r;
            asker?.Tell(r);
        });
        Receive<Take>(_ =>
        {
            if (got is not null)
                Sender.Tell(got);
            else
                asker = Sender;
        });
    }
}
