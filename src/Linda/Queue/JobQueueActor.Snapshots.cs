using Akka.Actor;
using Akka.Persistence;

namespace Linda;

// Snapshots: taken when no event waits for a write, saved once the rows before them are written.
public sealed partial class JobQueueActor
{
    /// <summary>
    /// Takes a snapshot when one is due and no event waits for a write: the state then holds exactly
    /// the rows written or in flight (1..S), and the snapshot is saved under S once they are all written.
    /// </summary>
    private void MaybeSnapshot()
    {
        if (!_snapshots.Due || !_writes.NothingWaiting)
            return;
        var snapshot = _state.ToSnapshot();
        var sequenceNr = LastSequenceNr + (_writes.InFlight is null ? 0 : 1);
        var metadata = new SnapshotMetadata(PersistenceId, sequenceNr, _time.GetUtcNow().UtcDateTime);
        _snapshots.Taken(snapshot.Jobs.Count);
        var save = () =>
        {
            // No row is written until the store answers (see LindaSettings.SnapshotPausesWrites).
            _writes.Paused = _settings.SnapshotPausesWrites;
            SnapshotStore.Tell(new SaveSnapshot(metadata, snapshot), Self);
        };
        if (!_writes.AfterAll(save))
            save();
    }

    /// <summary>The snapshot store answered: the next snapshot may be taken, and the writes go on (after the command, <see cref="AfterCommand"/> starts the next one).</summary>
    private void OnSnapshotDone()
    {
        _snapshots.Done();
        _writes.Paused = false;
    }

    private void OnSnapshotSaved(SnapshotMetadata metadata)
    {
        OnSnapshotDone();
        if (!_settings.DeleteEventsOnSnapshot)
            return;
        DeleteMessages(metadata.SequenceNr);
        DeleteSnapshots(new SnapshotSelectionCriteria(metadata.SequenceNr - 1));
    }
}
