using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;
using static Linda.JobQueue;

namespace Linda.Serialization;

/// <summary>
/// Serializes every Linda message, event and snapshot in a compact binary form. Each type has a short
/// manifest that is never reused for another type, so a journal written by one version replays in the
/// next even when types move between namespaces or assemblies. Bound to
/// <see cref="JobQueue.IQueueMessage"/> in <c>hocon/linda.conf</c>.
/// </summary>
public sealed class LindaSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id, fixed: it is stored with every journal row.</summary>
    public const int Id = 417;

    private static readonly Dictionary<Type, (string Manifest, Action<BinaryWriter, object> Write)> Writers = new();
    private static readonly Dictionary<string, Func<BinaryReader, object>> Readers = new(StringComparer.Ordinal);

    /// <summary>Made by Akka from the serializer binding.</summary>
    public LindaSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>Every manifest with its type: the contract with existing journals.</summary>
    public static IReadOnlyDictionary<string, Type> Manifests => Writers.ToDictionary(kv => kv.Value.Manifest, kv => kv.Key);

    /// <inheritdoc />
    public override string Manifest(object o) =>
        Writers.TryGetValue(o.GetType(), out var codec)
            ? codec.Manifest
            : throw new ArgumentException($"LindaSerializer can't serialize {o.GetType()}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        if (!Writers.TryGetValue(obj.GetType(), out var codec))
            throw new ArgumentException($"LindaSerializer can't serialize {obj.GetType()}");
        var writer = new BinaryWriter();
        codec.Write(writer, obj);
        return writer.ToArray();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        var message = Read(bytes, manifest);
        return message is LocatedPath located ? new Located(Resolve(located.Path, manifest)) : message;
    }

    private IActorRef Resolve(string path, string manifest)
    {
        try
        {
            return system.Provider.ResolveActorRef(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SerializationException($"LindaSerializer can't read a '{manifest}': actor path '{path}' does not resolve: {e.Message}", e);
        }
    }

    /// <summary>A <see cref="Located"/> as read, before its path is resolved.</summary>
    private sealed record LocatedPath(string Path);

    private static object Read(byte[] bytes, string manifest)
    {
        if (!Readers.TryGetValue(manifest, out var read))
            throw new SerializationException($"LindaSerializer has no type for manifest '{manifest}'");
        var reader = new BinaryReader(bytes);
        object result;
        try
        {
            result = read(reader);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new SerializationException($"LindaSerializer can't read a '{manifest}': {e.Message}", e);
        }
        if (!reader.AtEnd)
            throw new SerializationException($"LindaSerializer: a '{manifest}' has bytes left over");
        return result;
    }

    private static void Add<T>(string manifest, Action<BinaryWriter, T> write, Func<BinaryReader, T> read) where T : notnull
    {
        if (Readers.ContainsKey(manifest))
            throw new InvalidOperationException($"manifest '{manifest}' is used twice");
        Writers.Add(typeof(T), (manifest, (w, o) => write(w, (T)o)));
        Readers.Add(manifest, r => read(r));
    }

    private static void AddSingleton<T>(string manifest, T instance) where T : notnull =>
        Add<T>(manifest, (_, _) => { }, _ => instance);

    // Manifests: c* commands, r* replies, e* events, s* snapshots. Never reuse or change one.
    static LindaSerializer()
    {
        // ------------------------------------------------------------ commands
        // "cPush2" is "cPush" and the push's trace context; "cPush3" adds its unique key; "cPush" and "cPush2" are still read.
        Readers.Add("cPush2", r => ReadPush(r) with { TraceParent = r.NullableString() });
        Add<Push>("cPush3", (w, m) =>
        {
            w.String(m.Queue);
            WritePayload(w, m.Payload);
            w.String(m.Id);
            w.NullableUInt(m.Priority);
            w.Duration(m.Delay);
            w.NullableDuration(m.TimeToRun);
            w.NullableInt(m.MaxRetries);
            w.NullableDuration(m.Period);
            w.String(m.TraceParent);
            w.String(m.UniqueKey);
            w.NullableDuration(m.UniqueFor);
            w.NullableDuration(m.Timeout);
            w.String(m.ConcurrencyKey);
        }, r => ReadPush(r) with
        {
            TraceParent = r.NullableString(), UniqueKey = r.NullableString(), UniqueFor = r.NullableDuration(), Timeout = r.NullableDuration(),
            ConcurrencyKey = r.NullableString(),
        });
        Readers.Add("cPush", ReadPush);
        Add<Reserve>("cRsv", (w, m) => { w.Duration(m.Wait); w.Bool(m.HoldsNone); w.Long(m.Pull); }, r => new Reserve(r.Duration()) { HoldsNone = r.Bool(), Pull = r.Long() });
        Add<Complete>("cCmp", (w, m) => { w.String(m.JobId); w.Long(m.Token); }, r => new Complete(r.String(), r.Long()));
        Add<Release>("cRel", (w, m) =>
        {
            w.String(m.JobId);
            w.Long(m.Token);
            w.Duration(m.Delay);
            w.NullableUInt(m.Priority);
            w.String(m.Error);
        }, r => new Release(r.String(), r.Long()) { Delay = r.Duration(), Priority = r.NullableUInt(), Error = r.NullableString() });
        Add<Bury>("cBur", (w, m) =>
        {
            w.String(m.JobId);
            w.Long(m.Token);
            w.String(m.Reason);
            w.NullableUInt(m.Priority);
        }, r => new Bury(r.String(), r.Long(), r.String()) { Priority = r.NullableUInt() });
        Add<Kick>("cKck", (w, m) => w.Int(m.Bound), r => new Kick(r.Int()));
        Add<KickJob>("cKjb", (w, m) => w.String(m.JobId), r => new KickJob(r.String()));
        Add<Touch>("cTch", (w, m) => { w.String(m.JobId); w.Long(m.Token); }, r => new Touch(r.String(), r.Long()));
        // "cDel" (before SpareLeased) is retired.
        Add<Delete>("cDel2", (w, m) => { w.String(m.JobId); w.Bool(m.SpareLeased); }, r => new Delete(r.String()) { SpareLeased = r.Bool() });
        Add<ReserveJob>("cRsvJ", (w, m) => w.String(m.JobId), r => new ReserveJob(r.String()));
        AddSingleton("cCnR", CancelReserve.Instance);
        Add<Peek>("cPek", (w, m) => w.String(m.JobId), r => new Peek(r.String()));
        AddSingleton("cPkR", PeekReady.Instance);
        AddSingleton("cPkD", PeekDelayed.Instance);
        AddSingleton("cPkB", PeekBuried.Instance);
        Add<GetJob>("cGet", (w, m) => w.String(m.JobId), r => new GetJob(r.String()));
        AddSingleton("cSta", GetStats.Instance);
        Add<Pause>("cPau", (w, m) => w.Duration(m.Duration), r => new Pause(r.Duration()));
        AddSingleton("cRes", JobQueue.Resume.Instance);
        AddSingleton("cLoc", Locate.Instance);
        AddSingleton("cHlth", GetHealth.Instance);
        AddSingleton("cInsp", JobQueueActor.InspectState.Instance);
        // A message to a sharded queue: the queue name, then the message's own manifest and bytes.
        Add<QueueEnvelope>("cEnv", (w, e) =>
        {
            var (manifest, write) = e.Message is not Located && Writers.TryGetValue(e.Message.GetType(), out var codec)
                ? codec
                : throw new ArgumentException($"LindaSerializer can't put {e.Message.GetType()} in a queue envelope");
            w.String(e.Queue);
            w.String(manifest);
            write(w, e.Message);
        }, r =>
        {
            var queue = r.SharedString();
            var manifest = r.SharedString();
            if (!Readers.TryGetValue(manifest, out var read))
                throw new FormatException($"a queue envelope holds an unknown manifest '{manifest}'");
            return new QueueEnvelope(queue, read(r) as IQueueMessage ?? throw new FormatException($"a queue envelope can't hold a '{manifest}'"));
        });
        Add<ListJobs>("cList", (w, m) =>
        {
            w.Byte((byte)m.State);
            w.String(m.After);
            w.Int(m.Limit);
            w.Bool(m.Reverse);
        }, r => new ListJobs(ReadState(r)) { After = r.NullableString(), Limit = r.Int(), Reverse = r.Bool() });

        // ------------------------------------------------------------ replies
        // "rPushed" and "rRsv" (before Seq) are retired.
        Add<Pushed>("rPushed2", (w, m) => { w.String(m.JobId); w.Byte((byte)m.State); w.VarLong(m.Seq); }, r => new Pushed(r.String(), ReadState(r)) { Seq = r.VarLong() });
        // "rRsv3" is "rRsv2" with the job's trace context; "rRsv4" adds its run timeout; "rRsv2" and "rRsv3" are still read.
        Readers.Add("rRsv2", r => new Reserved(ReadJob(r), r.Long(), r.Time(), r.Int()) { Pull = r.Long(), Seq = r.VarLong() });
        Readers.Add("rRsv3", r => new Reserved(ReadTracedJob(r), r.Long(), r.Time(), r.Int()) { Pull = r.Long(), Seq = r.VarLong() });
        Add<Reserved>("rRsv4", (w, m) =>
        {
            WriteTracedJob(w, m.Job);
            w.Long(m.Token);
            w.Time(m.Deadline);
            w.Int(m.Attempt);
            w.Long(m.Pull);
            w.VarLong(m.Seq);
            w.NullableDuration(m.Job.Timeout);
        }, r =>
        {
            var reserved = new Reserved(ReadTracedJob(r), r.Long(), r.Time(), r.Int()) { Pull = r.Long(), Seq = r.VarLong() };
            return reserved with { Job = reserved.Job with { Timeout = r.NullableDuration() } };
        });
        AddSingleton("rRsvTO", ReserveTimedOut.Instance);
        Add<Completed>("rCmp", (w, m) => { w.String(m.JobId); w.NullableTime(m.NextRunAt); }, r => new Completed(r.String(), r.NullableTime()));
        Add<Released>("rRel", (w, m) => { w.String(m.JobId); w.Byte((byte)m.State); }, r => new Released(r.String(), ReadState(r)));
        Add<Buried>("rBur", (w, m) => w.String(m.JobId), r => new Buried(r.String()));
        Add<Kicked>("rKck", (w, m) => w.Int(m.Count), r => new Kicked(r.Int()));
        Add<KickedJob>("rKjb", (w, m) => w.String(m.JobId), r => new KickedJob(r.String()));
        Add<Touched>("rTch", (w, m) => { w.String(m.JobId); w.Time(m.Deadline); }, r => new Touched(r.String(), r.Time()));
        Add<Deleted>("rDel", (w, m) => w.String(m.JobId), r => new Deleted(r.String()));
        Add<Paused>("rPau", (w, m) => w.Time(m.Until), r => new Paused(r.Time()));
        AddSingleton("rRes", Resumed.Instance);
        // "rSta" (before JobTimeouts) is retired; "rSta3" is "rSta2" with the lag, the failures and the cancelled jobs (after JobTimeouts), "rSta2" is still read.
        Add<QueueStats>("rSta3", (w, m) =>
        {
            WriteStats(w, m);
            w.Duration(m.Lag);
            w.VarLong(m.Failures);
            w.VarLong(m.Cancelled);
        }, r => ReadStats(r) with { Lag = r.Duration(), Failures = r.VarLong(), Cancelled = r.VarLong() });
        Readers.Add("rSta2", r => ReadStats(r));
        // "rView" (before Delay) is retired; "rView3" is "rView2" with the lease holder and whether a cancel was asked, "rView2" is still read.
        Add<JobView>("rView3", WriteView, r => ReadView(r, withHolder: true));
        Readers.Add("rView2", r => ReadView(r, withHolder: false));
        // "rList2" holds "rView3" views, "rList" (with "rView2" views) is still read.
        Add<JobList>("rList2", (w, m) =>
        {
            w.Byte((byte)m.State);
            w.Int(m.Jobs.Count);
            foreach (var v in m.Jobs)
                WriteView(w, v);
            w.String(m.Next);
            w.Int(m.Total);
        }, r => ReadJobList(r, withHolder: true));
        Readers.Add("rList", r => ReadJobList(r, withHolder: false));
        Add<NotFound>("rNF", (w, m) => w.String(m.JobId), r => new NotFound(r.String()));
        Add<NoJob>("rNoJob", (w, m) => w.Byte((byte)m.State), r => new NoJob(ReadState(r)));
        Add<NotReserved>("rNR", (w, m) => { w.String(m.JobId); w.Byte((byte)m.State); }, r => new NotReserved(r.String(), ReadState(r)));
        Add<StaleLease>("rStale", (w, m) => w.String(m.JobId), r => new StaleLease(r.String()));
        Add<NotKickable>("rNK", (w, m) => { w.String(m.JobId); w.Byte((byte)m.State); }, r => new NotKickable(r.String(), ReadState(r)));
        Add<Leased>("rLsd", (w, m) => w.String(m.JobId), r => new Leased(r.String()));
        Add<AlreadyExists>("rAE", (w, m) => w.String(m.JobId), r => new AlreadyExists(r.String()));
        Add<Rejected>("rRej", (w, m) => { w.Int((int)m.Reason); w.String(m.Message); }, r => new Rejected(ReadRejectReason(r), r.String()));
        Add<WriteFailed>("rWF", (w, m) => w.String(m.Message), r => new WriteFailed(r.String()));
        Add<Unavailable>("rUna", (w, m) => w.String(m.Message), r => new Unavailable(r.String()));
        Add<QueueHealth>("rHlth", (w, m) =>
        {
            w.String(m.Queue);
            w.Bool(m.Running);
            w.Time(m.Now);
            w.NullableTime(m.WriteInFlightSince);
            w.NullableTime(m.LastWriteAt);
            w.NullableTime(m.LastFailureAt);
            w.Bool(m.LastFailure is not null);
            if (m.LastFailure is not null)
                w.String(m.LastFailure);
            w.Int(m.Failures);
        }, r => new QueueHealth(r.String(), r.Bool(), r.Time(), r.NullableTime(), r.NullableTime(), r.NullableTime(), r.Bool() ? r.String() : null, r.Int()));
        Add<AddOrUpdateSchedule>("cSchSet", (w, m) =>
        {
            w.String(m.ScheduleId);
            w.String(m.Cron);
            WritePayload(w, m.Payload);
            w.String(m.TimeZone);
            w.Byte((byte)m.Misfire);
            w.Byte((byte)m.Overlap);
            w.NullableUInt(m.Priority);
            w.NullableDuration(m.TimeToRun);
            w.NullableInt(m.MaxRetries);
        }, r => new AddOrUpdateSchedule(r.String(), r.String(), ReadPayload(r))
        {
            TimeZone = r.String(), Misfire = (Misfire)r.Byte(), Overlap = (Overlap)r.Byte(), Priority = r.NullableUInt(), TimeToRun = r.NullableDuration(), MaxRetries = r.NullableInt(),
        });
        Add<RemoveSchedule>("cSchDel", (w, m) => w.String(m.ScheduleId), r => new RemoveSchedule(r.String()));
        AddSingleton("cSchGet", GetSchedules.Instance);
        Add<Cancel>("cCancel", (w, m) => w.String(m.JobId), r => new Cancel(r.String()));
        Add<Cancelled>("rCanc", (w, m) => { w.String(m.JobId); w.Bool(m.WasRunning); }, r => new Cancelled(r.String(), r.Bool()));
        Add<ReportProgress>("cProg", (w, m) => { w.String(m.JobId); w.Long(m.Token); w.Int(m.Percent); w.String(m.Message); },
            r => new ReportProgress(r.String(), r.Long(), r.Int(), r.NullableString()));
        Add<CancelJob>("cCnJob", (w, m) => { w.String(m.JobId); w.Long(m.Token); }, r => new CancelJob(r.String(), r.Long()));
        Add<ScheduleSaved>("rSchSav", (w, m) => { w.String(m.ScheduleId); w.NullableTime(m.NextRunAt); }, r => new ScheduleSaved(r.String(), r.NullableTime()));
        Add<ScheduleRemoved>("rSchRem", (w, m) => w.String(m.ScheduleId), r => new ScheduleRemoved(r.String()));
        Add<ScheduleList>("rSchList", (w, m) =>
        {
            w.Int(m.Schedules.Count);
            foreach (var v in m.Schedules)
                WriteScheduleView(w, v);
        }, r =>
        {
            var views = new ScheduleView[r.Count()];
            for (var i = 0; i < views.Length; i++)
                views[i] = ReadScheduleView(r);
            return new ScheduleList(views);
        });
        AddSingleton("cNode", GetNodeInfo.Instance);
        Add<NodeInfo>("rNode", (w, m) =>
        {
            w.String(m.Address);
            w.Int(m.Workers.Count);
            foreach (var pool in m.Workers)
            {
                w.String(pool.Queue);
                w.Int(pool.Workers);
            }
        }, r =>
        {
            var address = r.String();
            var pools = new NodeWorkers[r.Count()];
            for (var i = 0; i < pools.Length; i++)
                pools[i] = new NodeWorkers(r.String(), r.Int());
            return new NodeInfo(address, pools);
        });
        // An actor path, resolved in FromBinary (resolving needs the actor system).
        Writers.Add(typeof(Located), ("rLoc", (w, m) => w.String(Akka.Serialization.Serialization.SerializedActorPath(((Located)m).Queue))));
        Readers.Add("rLoc", r => new LocatedPath(r.String()));

        // ------------------------------------------------------------ events
        // "ePush2" is "ePush" with the job's trace context (after the job); "ePush3" adds its unique key,
        // how long it holds, and its run timeout (after the due time); "ePush" and "ePush2" are still read.
        Readers.Add("ePush", r => new JobPushed(r.Time(), ReadJob(r), r.NullableTime()));
        Readers.Add("ePush2", r => new JobPushed(r.Time(), ReadTracedJob(r), r.NullableTime()));
        Add<JobPushed>("ePush3", (w, e) =>
        {
            w.Time(e.At);
            WriteTracedJob(w, e.Job);
            w.NullableTime(e.DueAt);
            w.String(e.Job.UniqueKey);
            w.NullableDuration(e.Job.UniqueFor);
            w.NullableDuration(e.Job.Timeout);
            w.String(e.Job.ConcurrencyKey);
        }, r =>
        {
            var (at, job, due) = (r.Time(), ReadTracedJob(r), r.NullableTime());
            return new JobPushed(at, job with { UniqueKey = r.NullableString(), UniqueFor = r.NullableDuration(), Timeout = r.NullableDuration(), ConcurrencyKey = r.NullableString() }, due);
        });
        Add<JobReserved>("eRsv", (w, e) =>
        {
            w.Time(e.At);
            w.String(e.JobId);
            w.Long(e.Token);
            w.Time(e.Deadline);
            w.String(e.Holder);
        }, r => new JobReserved(r.Time(), r.String(), r.Long(), r.Time(), r.SharedString()));
        Add<JobTouched>("eTch", (w, e) => { w.Time(e.At); w.String(e.JobId); w.Time(e.Deadline); }, r => new JobTouched(r.Time(), r.String(), r.Time()));
        Add<JobCompleted>("eCmp", (w, e) => { w.Time(e.At); w.String(e.JobId); }, r => new JobCompleted(r.Time(), r.String()));
        Add<JobReleased>("eRel", (w, e) =>
        {
            w.Time(e.At);
            w.String(e.JobId);
            w.NullableUInt(e.Priority);
            w.NullableTime(e.DueAt);
            w.String(e.Error);
        }, r => new JobReleased(r.Time(), r.String(), r.NullableUInt(), r.NullableTime(), r.NullableString()));
        Add<JobBuried>("eBur", (w, e) =>
        {
            w.Time(e.At);
            w.String(e.JobId);
            w.String(e.Reason);
            w.NullableUInt(e.Priority);
        }, r => new JobBuried(r.Time(), r.String(), r.String(), r.NullableUInt()));
        Add<JobsKicked>("eKck", (w, e) =>
        {
            w.Time(e.At);
            w.Int(e.JobIds.Count);
            foreach (var id in e.JobIds)
                w.String(id);
        }, r =>
        {
            var at = r.Time();
            var ids = new string[r.Count()];
            for (var i = 0; i < ids.Length; i++)
                ids[i] = r.String();
            return new JobsKicked(at, ids);
        });
        Add<JobDeleted>("eDel", (w, e) => { w.Time(e.At); w.String(e.JobId); }, r => new JobDeleted(r.Time(), r.String()));
        Add<LeaseLost>("eLost", (w, e) =>
        {
            w.Time(e.At);
            w.String(e.JobId);
            w.Long(e.Token);
            w.String(e.Reason);
        }, r => new LeaseLost(r.Time(), r.String(), r.Long(), r.String()));
        Add<QueuePaused>("ePau", (w, e) => { w.Time(e.At); w.Time(e.Until); }, r => new QueuePaused(r.Time(), r.Time()));
        Add<QueueResumed>("eRes", (w, e) => w.Time(e.At), r => new QueueResumed(r.Time()));
        Add<JobCancelled>("eCanc", (w, e) => { w.Time(e.At); w.String(e.JobId); }, r => new JobCancelled(r.Time(), r.String()));
        Add<JobCancelRequested>("eCancReq", (w, e) => { w.Time(e.At); w.String(e.JobId); }, r => new JobCancelRequested(r.Time(), r.String()));
        Add<ScheduleSet>("eSchSet", (w, e) => { w.Time(e.At); WriteSchedule(w, e.Definition); w.NullableTime(e.NextDue); },
            r => new ScheduleSet(r.Time(), ReadSchedule(r), r.NullableTime()));
        Add<ScheduleDropped>("eSchDrop", (w, e) => { w.Time(e.At); w.String(e.ScheduleId); }, r => new ScheduleDropped(r.Time(), r.String()));
        Add<ScheduleFired>("eSchFire", (w, e) =>
        {
            w.Time(e.At);
            w.String(e.ScheduleId);
            w.Int(e.Runs.Count);
            foreach (var run in e.Runs)
                w.Time(run);
            w.Int(e.Skipped);
            w.NullableTime(e.PendingSince);
            w.NullableTime(e.NextDue);
        }, r =>
        {
            var (at, id) = (r.Time(), r.String());
            var runs = new DateTimeOffset[r.Count()];
            for (var i = 0; i < runs.Length; i++)
                runs[i] = r.Time();
            return new ScheduleFired(at, id, runs, r.Int(), r.NullableTime(), r.NullableTime());
        });

        // One journal row: the events of one write, each with its own manifest.
        Add<EventBatch>("eBatch", (w, b) =>
        {
            w.Int(b.Events.Count);
            foreach (var e in b.Events)
            {
                var (manifest, write) = Writers.TryGetValue(e.GetType(), out var codec)
                    ? codec
                    : throw new ArgumentException($"LindaSerializer can't put {e.GetType()} in a batch");
                w.String(manifest);
                write(w, e);
            }
        }, ReadBatch);

        // ------------------------------------------------------------ snapshots
        // "sQueue1" (jobs without their delay) and "sQueue2" (every name in every job) are still read.
        Readers.Add("sQueue1", r => ReadSnapshot(r, withDelay: false));
        Readers.Add("sQueue2", r => ReadSnapshot(r, withDelay: true));
        // "sQueue4" is "sQueue3" with each job's trace context; "sQueue5" is "sQueue4" with the schedules
        // after the jobs; "sQueue3" and "sQueue4" are still read.
        Readers.Add("sQueue3", r => SnapshotCodec.Read(r, withTrace: false, withSchedules: false));
        Readers.Add("sQueue4", r => SnapshotCodec.Read(r, withTrace: true, withSchedules: false));
        Add<JobQueueSnapshot>("sQueue5", SnapshotCodec.Write, r => SnapshotCodec.Read(r, withTrace: true, withSchedules: true));
    }

    private static EventBatch ReadBatch(BinaryReader r)
    {
        var events = new IEvent[r.Count()];
        for (var i = 0; i < events.Length; i++)
        {
            var manifest = r.SharedString();
            events[i] = Readers.TryGetValue(manifest, out var read) && read(r) is IEvent e
                ? e
                : throw new FormatException($"a batch holds a '{manifest}', which is not an event");
        }
        return new EventBatch(events);
    }

    private static JobQueueSnapshot ReadSnapshot(BinaryReader r, bool withDelay)
    {
        var (queue, now, nextSeq, buryCounter, paused) = (r.String(), r.Time(), r.VarLong(), r.VarLong(), r.NullableTime());
        var jobs = new JobSnapshot[r.Count()];
        for (var i = 0; i < jobs.Length; i++)
        {
            jobs[i] = ReadJobSnapshot(r);
            if (withDelay)
                jobs[i] = jobs[i] with { Delay = r.Duration() };
        }
        return new JobQueueSnapshot(queue, now, nextSeq, buryCounter, paused, jobs);
    }

    private const byte JsonArgsPayload = 0;
    private const byte RawPayload = 1;

    private static void WritePayload(BinaryWriter w, JobPayload p)
    {
        w.Byte(p.IsRaw ? RawPayload : JsonArgsPayload);
        w.String(p.Class);
        w.Bytes(p.Body.Span);
    }

    private static JobPayload ReadPayload(BinaryReader r)
    {
        var kind = r.Byte();
        if (kind is not (JsonArgsPayload or RawPayload))
            throw new FormatException($"unknown payload kind {kind}");
        return JobPayload.Trusted(r.SharedString(), r.Bytes(), raw: kind == RawPayload);
    }

    internal static void WriteSchedule(BinaryWriter w, ScheduleDefinition d)
    {
        w.String(d.ScheduleId);
        w.String(d.Cron);
        w.String(d.TimeZone);
        WritePayload(w, d.Payload);
        w.Byte((byte)d.Misfire);
        w.Byte((byte)d.Overlap);
        w.UInt(d.Priority);
        w.NullableDuration(d.TimeToRun);
        w.NullableInt(d.MaxRetries);
    }

    /// <summary>A schedule with what it did: in <c>rSchList</c> and in snapshots.</summary>
    internal static void WriteScheduleView(BinaryWriter w, ScheduleView v)
    {
        WriteSchedule(w, v.Definition);
        w.NullableTime(v.NextRunAt);
        w.NullableTime(v.PendingSince);
        w.String(v.LastJobId);
        w.NullableTime(v.LastRunAt);
        w.VarLong(v.Runs);
        w.VarLong(v.Skipped);
    }

    internal static ScheduleView ReadScheduleView(BinaryReader r) =>
        new(ReadSchedule(r), r.NullableTime(), r.NullableTime(), r.NullableString(), r.NullableTime(), r.VarLong(), r.VarLong());

    internal static ScheduleDefinition ReadSchedule(BinaryReader r)
    {
        var (id, cron, zone, payload) = (r.String(), r.String(), r.String(), ReadPayload(r));
        var misfire = (Misfire)r.Byte();
        var overlap = (Overlap)r.Byte();
        if (!Enum.IsDefined(misfire) || !Enum.IsDefined(overlap))
            throw new FormatException($"bad misfire {misfire} or overlap {overlap}");
        return new ScheduleDefinition(id, cron, zone, payload, misfire, overlap, r.UInt(), r.NullableDuration(), r.NullableInt());
    }

    private static void WriteJob(BinaryWriter w, Job j)
    {
        w.String(j.Id);
        w.String(j.Queue);
        WritePayload(w, j.Payload);
        w.UInt(j.Priority);
        w.Duration(j.TimeToRun);
        w.NullableInt(j.MaxRetries);
        w.NullableDuration(j.Period);
        w.Time(j.CreatedAt);
    }

    /// <summary>A job and its trace context (<see cref="Job.TraceParent"/>), as events, leases and snapshots since version 4 carry it.</summary>
    private static void WriteTracedJob(BinaryWriter w, Job j)
    {
        WriteJob(w, j);
        w.String(j.TraceParent);
    }

    private static Job ReadTracedJob(BinaryReader r) => ReadJob(r) with { TraceParent = r.NullableString() };

    private static Push ReadPush(BinaryReader r) => new(r.SharedString(), ReadPayload(r))
    {
        Id = r.NullableString(),
        Priority = r.NullableUInt(),
        Delay = r.Duration(),
        TimeToRun = r.NullableDuration(),
        MaxRetries = r.NullableInt(),
        Period = r.NullableDuration(),
    };

    private static Job ReadJob(BinaryReader r) =>
        new(r.String(), r.SharedString(), ReadPayload(r), r.UInt(), r.Duration(), r.NullableInt(), r.NullableDuration(), r.Time());

    private static JobState ReadState(BinaryReader r)
    {
        var b = r.Byte();
        return b is >= (byte)JobState.Ready and <= (byte)JobState.Buried ? (JobState)b : throw new FormatException($"bad job state {b}");
    }

    private static RejectReason ReadRejectReason(BinaryReader r)
    {
        var n = r.Int();
        return Enum.IsDefined((RejectReason)n) ? (RejectReason)n : throw new FormatException($"bad reject reason {n}");
    }

    private static void WriteStats(BinaryWriter w, QueueStats m)
    {
        w.String(m.Queue);
        w.Int(m.Ready);
        w.Int(m.Urgent);
        w.Int(m.Delayed);
        w.Int(m.Reserved);
        w.Int(m.Buried);
        w.Int(m.Waiting);
        w.VarLong(m.TotalJobs);
        w.NullableTime(m.PausedUntil);
        w.Int(m.Commands.Count);
        foreach (var (name, count) in m.Commands)
        {
            w.String(name);
            w.VarLong(count);
        }
        w.VarLong(m.JobTimeouts);
    }

    private static QueueStats ReadStats(BinaryReader r)
    {
        var (queue, ready, urgent, delayed, reserved, buried, waiting) = (r.String(), r.Int(), r.Int(), r.Int(), r.Int(), r.Int(), r.Int());
        var (total, paused, n) = (r.VarLong(), r.NullableTime(), r.Count());
        var commands = new Dictionary<string, long>(n);
        for (var i = 0; i < n; i++)
            commands.Add(r.String(), r.VarLong()); // a name twice is a corrupt message, not a last-one-wins
        return new QueueStats(queue, ready, urgent, delayed, reserved, buried, waiting, total, paused, commands, r.VarLong());
    }

    private static JobList ReadJobList(BinaryReader r, bool withHolder)
    {
        var state = ReadState(r);
        var jobs = new JobView[r.Count()];
        for (var i = 0; i < jobs.Length; i++)
            jobs[i] = ReadView(r, withHolder);
        return new JobList(state, jobs, r.NullableString(), r.Int());
    }

    private static void WriteView(BinaryWriter w, JobView v)
    {
        WriteJob(w, v.Job);
        w.Byte((byte)v.State);
        w.UInt(v.Priority);
        w.VarLong(v.Seq);
        w.NullableTime(v.DueAt);
        w.NullableTime(v.LeaseDeadline);
        w.Int(v.Attempt);
        w.Int(v.Reserves);
        w.Int(v.Timeouts);
        w.Int(v.Releases);
        w.Int(v.Buries);
        w.Int(v.Kicks);
        w.String(v.LastError);
        w.Duration(v.Delay);
        w.String(v.Holder);
        w.Bool(v.CancelRequested);
        w.String(v.Job.UniqueKey);
        w.NullableDuration(v.Job.UniqueFor);
        w.NullableDuration(v.Job.Timeout);
        w.String(v.Job.ConcurrencyKey);
        w.NullableInt(v.Progress);
        w.String(v.ProgressMessage);
        w.NullableTime(v.ProgressAt);
    }

    private static JobView ReadView(BinaryReader r, bool withHolder)
    {
        var view = new JobView(ReadJob(r), ReadState(r), r.UInt(), r.VarLong(), r.NullableTime(), r.NullableTime(),
            r.Int(), r.Int(), r.Int(), r.Int(), r.Int(), r.Int(), r.NullableString(), r.Duration(), withHolder ? r.NullableString() : null, withHolder && r.Bool());
        return withHolder
            ? view with
            {
                Job = view.Job with { UniqueKey = r.NullableString(), UniqueFor = r.NullableDuration(), Timeout = r.NullableDuration(), ConcurrencyKey = r.NullableString() },
                Progress = r.NullableInt(), ProgressMessage = r.NullableString(), ProgressAt = r.NullableTime(),
            }
            : view;
    }

    private static JobSnapshot ReadJobSnapshot(BinaryReader r) =>
        new(ReadJob(r), r.VarLong(), ReadState(r), r.UInt(), r.NullableTime(), r.Time(), r.Long(), r.NullableTime(),
            r.NullableString() is { } h ? BinaryReader.Share(h) : null, r.VarLong(),
            r.Int(), r.Int(), r.Int(), r.Int(), r.Int(), r.Int(), r.NullableString());
}
