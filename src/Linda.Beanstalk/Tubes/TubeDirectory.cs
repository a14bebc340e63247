using Akka.Actor;
using Akka.Persistence;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Beanstalk;

/// <summary>
/// The tube directory of the sharded placement: the persisted numbering of <see cref="TubeHub"/> (each
/// tube name numbered once and for all, in order from 0; the high bits of its jobs' wire ids, see
/// <see cref="WireIds"/>) without the tubes' queues, which are entities of the queues' shard region
/// spread over the nodes. One per cluster, a cluster singleton (terminated with <see cref="HandOver"/>),
/// so a number is handed out once whichever node asks; every node's <see cref="ShardedTubes"/> asks it
/// only for what it has not seen. Its persistence id and event are the hub's (<see cref="TubeHub.Id"/>,
/// <see cref="TubeNumbered"/>): a journal written by the singleton placement's hub is its journal.
/// </summary>
/// <remarks>
/// Answers <see cref="GetTube"/> with the tube's <see cref="TubeNumbered"/> (numbering it first if new:
/// answered once written) or <see cref="TubeRefused"/>; <see cref="FindTube"/> with <see cref="TubeNumbers"/>
/// of none or one; <see cref="ListTubes"/> with <see cref="TubeNumbers"/> of every tube, by number.
/// </remarks>
public sealed class TubeDirectory : ReceivePersistentActor
{
    private readonly TubeNumbering _numbering = new();

    /// <summary>Props for the directory, on the journal and snapshot store of <paramref name="settings"/>.</summary>
    public static Props Props(LindaSettings settings) => Akka.Actor.Props.Create(() => new TubeDirectory(settings));

    /// <summary>Makes a directory; see <see cref="Props"/>.</summary>
    public TubeDirectory(LindaSettings settings)
    {
        JournalPluginId = settings.JournalPluginId;
        SnapshotPluginId = settings.SnapshotPluginId;

        Recover<TubeNumbered>(_numbering.Apply);
        Command<GetTube>(get =>
        {
            if (_numbering.TryNumber(get.Name, out var number))
            {
                Sender.Tell(new TubeNumbered(get.Name, number));
                return;
            }
            var numbering = _numbering.Number(get.Name);
            if (numbering is not TubeNumbered numbered)
            {
                Sender.Tell(numbering); // refused
                return;
            }
            // Persist holds the commands after it until written: a tube named twice in a row is numbered once.
            Persist(numbered, e =>
            {
                _numbering.Apply(e);
                Sender.Tell(e);
            });
        });
        Command<FindTube>(find =>
        {
            var found = find.Name is { } name
                ? _numbering.TryNumber(name, out var number) ? new TubeNumbered(name, number) : null
                : _numbering.TryName(find.Number, out var named) ? new TubeNumbered(named, find.Number) : null;
            Sender.Tell(new TubeNumbers(found is null ? [] : [found]));
        });
        Command<ListTubes>(_ => Sender.Tell(new TubeNumbers(_numbering.All.ToArray())));
        // A hand-over comes after a write in flight (Persist holds it), so the new directory recovers every number answered.
        Command<HandOver>(_ => Context.Stop(Self));
    }

    /// <inheritdoc />
    public override string PersistenceId => TubeHub.Id;
}
