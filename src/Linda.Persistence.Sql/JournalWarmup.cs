using Akka.Actor;
using Akka.Persistence;

namespace Linda.Persistence;

/// <summary>
/// Starts the journal and snapshot store a node's queues will use, and runs a recovery through them
/// once (of a persistence id that has no events), so their connections are open and their queries
/// compiled before a queue moves here. Without it, the first queue to start on a node waits 1–3 s for
/// Akka.Persistence.Sql to initialize, which is most of a graceful hand-over. Stops when done.
/// </summary>
public sealed class JournalWarmup : UntypedPersistentActor
{
    /// <summary>Use <see cref="Props"/>.</summary>
    public JournalWarmup(LindaSettings settings)
    {
        if (settings.JournalPluginId is not null)
            JournalPluginId = settings.JournalPluginId;
        if (settings.SnapshotPluginId is not null)
            SnapshotPluginId = settings.SnapshotPluginId;
    }

    /// <summary>Props for the warm-up of the stores <paramref name="settings"/> names.</summary>
    public static Props Props(LindaSettings settings) => Akka.Actor.Props.Create(() => new JournalWarmup(settings));

    /// <inheritdoc />
    public override string PersistenceId => "linda-warmup";

    /// <inheritdoc />
    protected override void OnRecover(object message)
    {
        if (message is RecoveryCompleted)
            Context.Stop(Self);
    }

    /// <inheritdoc />
    protected override void OnCommand(object message) => Unhandled(message);
}
