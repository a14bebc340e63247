using System.Collections;
using System.Globalization;

namespace Linda.Serialization;

/// <summary>
/// The snapshot formats <c>sQueue3</c> to <c>sQueue5</c>: a queue's whole state, written so a million jobs read back fast.
/// The names that repeat (handler classes, lease holders) are written once, in a table; a job's queue
/// is the snapshot's; a generated id (the job's sequence number) is not written at all; sequence numbers
/// are deltas. Reading checks the whole message at once (a malformed one fails there), then hands the
/// jobs out one by one as they are enumerated, so restoring a state never holds a second copy of them.
/// </summary>
internal static class SnapshotCodec
{
    // The job's flags: which optional parts follow.
    private const byte GeneratedId = 1;
    private const byte RawPayload = 2;
    private const byte HasMaxRetries = 4;
    private const byte HasPeriod = 8;
    private const byte HasLastError = 16;
    private const byte HasDueAt = 32;
    private const byte HasLease = 64;
    private const byte OtherQueue = 128; // the job names another queue than the snapshot (never, in a queue's own snapshot)

    public static void Write(BinaryWriter w, JobQueueSnapshot s)
    {
        w.String(s.Queue);
        w.Time(s.Now);
        w.VarLong(s.NextSeq);
        w.VarLong(s.BuryCounter);
        w.NullableTime(s.PausedUntil);

        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var table = new List<string>();
        int Name(string name)
        {
            if (!names.TryGetValue(name, out var index))
            {
                names.Add(name, index = table.Count);
                table.Add(name);
            }
            return index;
        }
        foreach (var j in s.Jobs)
        {
            Name(j.Job.Payload.Class);
            if (j.Holder is { } holder)
                Name(holder);
        }
        w.Int(table.Count);
        foreach (var name in table)
            w.String(name);

        w.Int(s.Jobs.Count);
        var seq = 0L;
        foreach (var j in s.Jobs)
        {
            var job = j.Job;
            var generated = IsSeq(job.Id, j.Seq);
            var flags = (byte)((generated ? GeneratedId : 0) | (job.Payload.IsRaw ? RawPayload : 0) | (job.MaxRetries is null ? 0 : HasMaxRetries)
                               | (job.Period is null ? 0 : HasPeriod) | (j.LastError is null ? 0 : HasLastError) | (j.DueAt is null ? 0 : HasDueAt)
                               | (j.LeaseDeadline is null ? 0 : HasLease) | (job.Queue == s.Queue ? 0 : OtherQueue));
            w.Byte(flags);
            w.VarLong(j.Seq - seq);
            seq = j.Seq;
            if (!generated)
                w.String(job.Id);
            if (job.Queue != s.Queue)
                w.String(job.Queue);
            w.Int(names[job.Payload.Class]);
            w.Bytes(job.Payload.Body.Span);
            w.UInt(job.Priority);
            w.Duration(job.TimeToRun);
            if (job.MaxRetries is { } maxRetries)
                w.Int(maxRetries);
            if (job.Period is { } period)
                w.Duration(period);
            w.Time(job.CreatedAt);
            w.Byte((byte)j.State);
            w.UInt(j.Priority);
            if (j.DueAt is { } dueAt)
                w.Time(dueAt);
            w.Time(j.RunDueAt);
            if (j.LeaseDeadline is { } deadline)
            {
                w.Long(j.Token);
                w.Time(deadline);
                w.Int(j.Holder is { } holder ? names[holder] + 1 : 0);
            }
            w.VarLong(j.BuryOrder);
            w.Int(j.Attempts);
            w.Int(j.Reserves);
            w.Int(j.Timeouts);
            w.Int(j.Releases);
            w.Int(j.Buries);
            w.Int(j.Kicks);
            if (j.LastError is { } error)
                w.String(error);
            w.Duration(j.Delay);
            w.String(job.TraceParent);
            w.Bool(j.CancelRequested); // sQueue5: the cancel mark and the unique key
            w.String(job.UniqueKey);
            w.NullableDuration(job.UniqueFor);
            w.NullableDuration(job.Timeout);
            w.String(job.ConcurrencyKey);
        }

        // sQueue5: the schedules after the jobs.
        w.Int(s.Schedules.Count);
        foreach (var schedule in s.Schedules)
            LindaSerializer.WriteScheduleView(w, schedule);
        // sQueue5: the unique keys still held by jobs that ended.
        w.Int(s.UniqueHolds.Count);
        foreach (var hold in s.UniqueHolds)
        {
            w.String(hold.Key);
            w.String(hold.JobId);
            w.Time(hold.Until);
        }
    }

    /// <summary>
    /// Reads a snapshot: <paramref name="withTrace"/> for sQueue4 and sQueue5 (each job ends with its trace
    /// context), <paramref name="withSchedules"/> for sQueue5 (the schedules follow the jobs); else sQueue3.
    /// </summary>
    public static JobQueueSnapshot Read(BinaryReader r, bool withTrace, bool withSchedules)
    {
        var (queue, now, nextSeq, buryCounter, paused) = (BinaryReader.Share(r.String()), r.Time(), r.VarLong(), r.VarLong(), r.NullableTime());
        var table = new string[r.Count()];
        for (var i = 0; i < table.Length; i++)
            table[i] = BinaryReader.Share(r.String());
        var jobs = new Jobs(r.Data, queue, table, r.Count(), r.Position, withTrace, withSchedules);
        // Check every job now (a malformed snapshot fails here, not while a state is restored from it).
        var seq = 0L;
        for (var i = 0; i < jobs.Count; i++)
            ReadJob(r, queue, table, ref seq, withTrace, withSchedules, materialize: false);
        var schedules = withSchedules ? new JobQueue.ScheduleView[r.Count()] : [];
        for (var i = 0; i < schedules.Length; i++)
            schedules[i] = LindaSerializer.ReadScheduleView(r);
        var holds = withSchedules ? new UniqueHoldSnapshot[r.Count()] : [];
        for (var i = 0; i < holds.Length; i++)
            holds[i] = new UniqueHoldSnapshot(r.String(), r.String(), r.Time());
        return new JobQueueSnapshot(queue, now, nextSeq, buryCounter, paused, jobs, schedules, holds);
    }

    /// <summary>
    /// The next job: handed to <paramref name="restoring"/> if given, else returned; with
    /// <paramref name="materialize"/> false, only checked and skipped (returns null).
    /// </summary>
    private static JobSnapshot? ReadJob(BinaryReader r, string queue, string[] table, ref long seq, bool withTrace, bool v5, bool materialize, JobQueueState.Restoring? restoring = null)
    {
        var flags = r.Byte();
        seq = checked(seq + r.VarLong());
        var id = (flags & GeneratedId) != 0 ? null : materialize ? r.String() : SkipRequired(r);
        var jobQueue = (flags & OtherQueue) == 0 ? queue : materialize ? BinaryReader.Share(r.String()) : SkipRequired(r) ?? queue;
        var @class = Name(r, table);
        if (!materialize)
            r.SkipBytes();
        var body = materialize ? r.Bytes() : null;
        var jobPriority = r.UInt();
        var ttr = r.Duration();
        int? maxRetries = (flags & HasMaxRetries) != 0 ? r.Int() : null;
        TimeSpan? period = (flags & HasPeriod) != 0 ? r.Duration() : null;
        var createdAt = r.Time();
        var state = r.Byte() is var b && b is >= (byte)JobState.Ready and <= (byte)JobState.Buried ? (JobState)b : throw new FormatException($"bad job state {b}");
        var priority = r.UInt();
        DateTimeOffset? dueAt = (flags & HasDueAt) != 0 ? r.Time() : null;
        var runDueAt = r.Time();
        long token = 0;
        DateTimeOffset? deadline = null;
        string? holder = null;
        if ((flags & HasLease) != 0)
        {
            token = r.Long();
            deadline = r.Time();
            var h = r.Int();
            holder = h == 0 ? null : h <= table.Length && h > 0 ? table[h - 1] : throw new FormatException($"holder {h} is not in the name table");
        }
        var buryOrder = r.VarLong();
        var (attempts, reserves, timeouts, releases, buries, kicks) = (r.Int(), r.Int(), r.Int(), r.Int(), r.Int(), r.Int());
        string? lastError = null;
        if ((flags & HasLastError) != 0)
        {
            if (materialize)
                lastError = r.String();
            else
                SkipRequired(r);
        }
        var delay = r.Duration();
        string? trace = null;
        if (withTrace)
        {
            if (materialize)
                trace = r.NullableString();
            else
                r.SkipString();
        }
        var cancelRequested = v5 && r.Bool();
        string? uniqueKey = null;
        TimeSpan? uniqueFor = null, runTimeout = null;
        string? concurrencyKey = null;
        if (v5)
        {
            if (materialize)
                uniqueKey = r.NullableString();
            else
                r.SkipString();
            uniqueFor = r.NullableDuration();
            runTimeout = r.NullableDuration();
            if (materialize)
                concurrencyKey = r.NullableString();
            else
                r.SkipString();
        }
        if (!materialize)
            return null;
        var payload = JobPayload.Trusted(@class, body!, raw: (flags & RawPayload) != 0);
        var job = new Job(id ?? seq.ToString(CultureInfo.InvariantCulture), jobQueue, payload, jobPriority, ttr, maxRetries, period, createdAt) { TraceParent = trace, UniqueKey = uniqueKey, UniqueFor = uniqueFor, Timeout = runTimeout, ConcurrencyKey = concurrencyKey };
        if (restoring is not null)
        {
            restoring.Add(job, seq, state, priority, dueAt, runDueAt, token, deadline, holder, buryOrder,
                attempts, reserves, timeouts, releases, buries, kicks, lastError, delay, cancelRequested);
            return null;
        }
        return new JobSnapshot(job, seq, state, priority, dueAt, runDueAt, token, deadline, holder, buryOrder,
            attempts, reserves, timeouts, releases, buries, kicks, lastError, delay, cancelRequested);
    }

    /// <summary>True when <paramref name="id"/> is <paramref name="seq"/> in digits: a generated id, not written.</summary>
    private static bool IsSeq(string id, long seq) =>
        Names.IsDigits(id) && id[0] != '0' && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n == seq;

    private static string? SkipRequired(BinaryReader r) => r.SkipString() ? null : throw new FormatException("a required string is null");

    private static string Name(BinaryReader r, string[] table)
    {
        var index = r.Int();
        return index >= 0 && index < table.Length ? table[index] : throw new FormatException($"name {index} is not in the name table");
    }

    /// <summary>The jobs of a snapshot read from <c>sQueue3</c>: decoded as they are enumerated, each time.</summary>
    private sealed class Jobs(byte[] data, string queue, string[] table, int count, int start, bool withTrace, bool v5) : IReadOnlyList<JobSnapshot>, IRestorableJobs
    {
        public void RestoreInto(JobQueueState.Restoring restoring)
        {
            var r = new BinaryReader(data) { Position = start };
            var seq = 0L;
            for (var i = 0; i < count; i++)
                ReadJob(r, queue, table, ref seq, withTrace, v5, materialize: true, restoring);
        }

        private JobSnapshot[]? _all;

        public int Count => count;

        public JobSnapshot this[int index] => (_all ??= this.ToArray())[index];

        public IEnumerator<JobSnapshot> GetEnumerator()
        {
            if (_all is not null)
            {
                foreach (var job in _all)
                    yield return job;
                yield break;
            }
            var r = new BinaryReader(data) { Position = start };
            var seq = 0L;
            for (var i = 0; i < count; i++)
                yield return ReadJob(r, queue, table, ref seq, withTrace, v5, materialize: true)!;
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
