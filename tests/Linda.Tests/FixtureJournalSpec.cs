using Akka.Actor;
using Akka.Configuration;
using Linda.Beanstalk;
using Linda.Persistence;
using Linda.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// Journals written by older versions of Linda keep recovering. <c>Fixtures/journal-v1</c> is a SQLite
/// journal written by the Linda of commit 7bc0d94, one row per event (its generator is beside it), with
/// the state that version recovered from it: every kind of event, a snapshot with events after it, and a
/// tube hub with a tube's queue.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class FixtureJournalSpec : IDisposable
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "journal-v1");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly TempFolder _folder = new();
    private readonly string _db;
    private readonly ManualClock _clock;

    public FixtureJournalSpec()
    {
        // A copy: recovering writes to the file (WAL mode, new events).
        _db = _folder.File("linda.db");
        File.Copy(Path.Combine(Fixture, "linda.db"), _db);
        _clock = new ManualClock(DateTimeOffset.Parse(File.ReadAllText(Path.Combine(Fixture, "clock.txt")).Trim(), System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    private ActorSystem StartSystem() =>
        ActorSystem.Create("fixture", SqlitePersistence.Setup(_db,
            ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(BeanstalkSerializer.Config)));

    private static LindaSettings SettingsOf(ActorSystem system, string queue)
    {
        var settings = LindaSettings.Create(system) with { SnapshotEvery = 0 };
        return queue == "emails" ? TubeHub.ForTubes(settings, 65_535) : settings;
    }

    private IActorRef Queue(ActorSystem system, string name) =>
        system.ActorOf(JobQueueActor.Props(name, SettingsOf(system, name), _clock), name);

    private static Task<JobQueueSnapshot> StateOf(IActorRef queue) =>
        queue.Ask<JobQueueSnapshot>(JobQueueActor.InspectState.Instance, Timeout);

    [Theory]
    [InlineData("events")]
    [InlineData("snap")]
    [InlineData("emails")]
    public async Task A_queue_journal_written_one_row_per_event_recovers_to_the_state_it_was_written_with(string queue)
    {
        var system = StartSystem();
        try
        {
            var state = await StateOf(Queue(system, queue));
            Assert.Equal(File.ReadAllText(Path.Combine(Fixture, $"expected-{queue}.txt")), StateText.Render(state));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task The_tube_directory_recovers_its_numbers()
    {
        var system = StartSystem();
        try
        {
            var hub = system.ActorOf(TubeHub.Props(LindaSettings.Create(system), 65_535), "hub");
            var tubes = await hub.Ask<BeanstalkProtocol.TubeList>(BeanstalkProtocol.ListTubes.Instance, Timeout);
            Assert.Equal(File.ReadAllLines(Path.Combine(Fixture, "expected-tubes.txt")), tubes.Tubes.Select(t => $"{t.Name} {t.Number}"));
            var next = await hub.Ask<BeanstalkProtocol.Tube>(new BeanstalkProtocol.GetTube("reports"), Timeout);
            Assert.Equal(2, next.Number);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task The_tube_directory_of_the_sharded_placement_recovers_the_hubs_numbers()
    {
        var system = StartSystem();
        try
        {
            var directory = system.ActorOf(TubeDirectory.Props(LindaSettings.Create(system)), "directory");
            var tubes = await directory.Ask<BeanstalkProtocol.TubeNumbers>(BeanstalkProtocol.ListTubes.Instance, Timeout);
            Assert.Equal(File.ReadAllLines(Path.Combine(Fixture, "expected-tubes.txt")), tubes.Tubes.Select(t => $"{t.Name} {t.Number}"));
            var next = await directory.Ask<BeanstalkProtocol.TubeNumbered>(new BeanstalkProtocol.GetTube("reports"), Timeout);
            Assert.Equal(2, next.Number);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task An_old_journal_goes_on_with_new_writes_and_recovers_again_to_the_same_state()
    {
        var system = StartSystem();
        string live;
        try
        {
            var q = Queue(system, "events");
            _clock.Advance(TimeSpan.FromSeconds(1));
            Assert.IsType<Pushed>(await q.Ask<IReply>(new Push("events", JobPayload.Create("new")) { Id = "n1", Priority = 1 }, Timeout));
            Assert.IsType<Deleted>(await q.Ask<IReply>(new Delete("c"), Timeout));
            Assert.IsType<Resumed>(await q.Ask<IReply>(JobQueue.Resume.Instance, Timeout));
            var n1 = await q.Ask<Reserved>(new Reserve(TimeSpan.Zero), Timeout);
            Assert.Equal("n1", n1.Job.Id);
            Assert.IsType<Completed>(await q.Ask<IReply>(new Complete("n1", n1.Token), Timeout));
            _clock.Advance(TimeSpan.FromMinutes(20)); // a's release delay is over
            Assert.IsType<Pushed>(await q.Ask<IReply>(new Push("events", JobPayload.Create("new")) { Id = "n2" }, Timeout));
            live = StateText.Render(await StateOf(q));
        }
        finally
        {
            await system.Terminate();
        }
        SqliteConnection.ClearAllPools();

        var again = StartSystem();
        try
        {
            var state = await StateOf(Queue(again, "events"));
            Assert.Equal(live, StateText.Render(state));
            Assert.Contains("job n2 ", live);
            Assert.DoesNotContain("job c ", live);
        }
        finally
        {
            await again.Terminate();
        }
    }
}
