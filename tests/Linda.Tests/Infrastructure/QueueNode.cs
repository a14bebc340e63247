using Akka.Actor;
using Akka.Configuration;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// An ActorSystem of its own with one queue actor on a SQLite file: what a restart spec stops and
/// starts again on the same file.
/// </summary>
public sealed class QueueNode : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private QueueNode(ActorSystem system, IActorRef queue)
    {
        System = system;
        Queue = queue;
    }

    public ActorSystem System { get; }

    public IActorRef Queue { get; }

    public static QueueNode Start(string databasePath, TimeProvider clock, string name = "jobs", string? hocon = null, bool ignoreSnapshots = false) =>
        Start(new SqliteStore(databasePath), clock, name, hocon, ignoreSnapshots);

    public static QueueNode Start(IQueueStore store, TimeProvider clock, string name = "jobs", string? hocon = null, bool ignoreSnapshots = false)
    {
        var config = ConfigurationFactory.ParseString((hocon ?? "") + "\nakka.loglevel = WARNING");
        var system = ActorSystem.Create("node", store.Setup(config));
        var settings = LindaSettings.Create(system) with { IgnoreSnapshots = ignoreSnapshots };
        return new QueueNode(system, system.ActorOf(JobQueueActor.Props(name, settings, clock), "queue-" + name));
    }

    public Task<T> Ask<T>(object message) => Queue.Ask<T>(message, Timeout);

    public Task<JobQueueSnapshot> State() => Ask<JobQueueSnapshot>(JobQueueActor.InspectState.Instance);

    public async ValueTask DisposeAsync() => await System.Terminate();
}
