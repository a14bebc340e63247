using Akka.Actor;
using Akka.Configuration;
using Linda.Persistence;
using Xunit.Abstractions;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// Base of the actor specs: an ActorSystem whose journal and snapshot store are a real SQLite file
/// (WAL, synchronous=FULL) in a fresh folder, and a manual clock for the queue actors.
/// </summary>
/// <remarks>Derived specs belong in <see cref="DatabaseCollection"/>.</remarks>
public abstract class QueueSpec : Akka.TestKit.Xunit2.TestKit
{
    protected QueueSpec(ITestOutputHelper output, TempFolder folder, string? extraHocon = null)
        : base(SqlitePersistence.Setup(folder.File("linda.db"), Hocon(extraHocon)), "spec", output)
    {
        Folder = folder;
        DatabasePath = folder.File("linda.db");
        Settings = LindaSettings.Create(Sys);
    }

    protected TempFolder Folder { get; }

    protected string DatabasePath { get; }

    protected LindaSettings Settings { get; }

    protected ManualClock Clock { get; } = new();

    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Returns once the queue actor has handled every message told to it before the call, and the
    /// <c>Flush</c> it sent itself meanwhile (so a write it was about to start is started): two rounds
    /// of <see cref="JobQueue.Locate"/> from a sender with nothing pending, which are answered at once. The
    /// first is behind everything told before it; the second is behind the Flush the earlier messages
    /// sent, which was enqueued before the first was answered.
    /// </summary>
    protected IActorRef Settled(IActorRef queue)
    {
        var probe = CreateTestProbe();
        queue.Tell(JobQueue.Locate.Instance, probe.Ref);
        probe.ExpectMsg<JobQueue.Located>(Wait);
        queue.Tell(JobQueue.Locate.Instance, probe.Ref);
        var located = probe.ExpectMsg<JobQueue.Located>(Wait).Queue;
        Sys.Stop(probe.Ref);
        return located;
    }

    /// <summary>Starts a queue actor on the manual clock.</summary>
    protected IActorRef StartQueue(string name = "jobs", LindaSettings? settings = null) =>
        Sys.ActorOf(JobQueueActor.Props(name, settings ?? Settings, Clock));

    protected static Config Hocon(string? extra) =>
        ConfigurationFactory.ParseString((extra ?? "") + "\nakka.loglevel = INFO\nakka.actor.ask-timeout = 15s\nakka.test.single-expect-default = 15s");

    protected override void AfterAll()
    {
        base.AfterAll();
        Folder.Dispose();
    }
}
