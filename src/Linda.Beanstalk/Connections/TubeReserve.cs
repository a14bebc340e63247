using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Beanstalk;

/// <summary>
/// A reserve over the tubes a connection watches (beanstalkd's <c>reserve</c> across tubes): take the
/// best ready job at once if there is one, else wait on every tube at once; the first job wins and the
/// other waits are called off (<see cref="JobQueue.CancelReserve"/>).
/// </summary>
internal sealed class TubeReserve(QueueLink link, FrontEndCounters counters, CancellationToken closed)
{
    /// <summary>A job reserved from a tube.</summary>
    public sealed record Got(Tube Tube, JobQueue.Reserved Reserved);

    /// <summary>A ready job from the tubes, without waiting: from the one whose job is <see cref="ReservedBefore"/> the others'.</summary>
    public async Task<Got?> Now(IReadOnlyList<Tube> tubes)
    {
        var candidates = new List<Tube>(tubes);
        while (candidates.Count > 0)
        {
            Tube best;
            if (candidates.Count == 1)
                best = candidates[0];
            else
            {
                var peeks = candidates.Select(t => (Tube: t, Reply: link.Send(t.Queue, JobQueue.PeekReady.Instance))).ToList();
                (Tube Tube, JobView View)? top = null;
                foreach (var (tube, reply) in peeks)
                {
                    if (await QueueLink.WithTimeout(reply) is JobView view && (top is null || ReservedBefore(view, top.Value.View)))
                        top = (tube, view);
                }
                if (top is null)
                    return null;
                best = top.Value.Tube;
            }
            if (await QueueLink.WithTimeout(link.Send(best.Queue, new JobQueue.Reserve(TimeSpan.Zero))) is JobQueue.Reserved reserved)
                return new Got(best, reserved);
            // Taken meanwhile, or the tube is paused: try the others.
            candidates.Remove(best);
        }
        return null;
    }

    /// <summary>
    /// beanstalkd's order across tubes: the lower priority, then the job put first. Ids don't tell the
    /// put order across tubes here (their high bits are the tube's number), so the put time does.
    /// </summary>
    private static bool ReservedBefore(JobView a, JobView b) =>
        a.Priority != b.Priority ? a.Priority < b.Priority : a.Job.CreatedAt < b.Job.CreatedAt;

    /// <summary>
    /// Waits on every tube at once for up to <paramref name="wait"/>; the first job wins and the other
    /// waits are called off (a job one of them handed out meanwhile is taken if none was, else given
    /// back). Interrupted: a queue did not wait to the end (it stopped or is moving), so the caller asks
    /// again; null with neither: the wait is over (or the client closed).
    /// </summary>
    public async Task<(Got? Got, bool Interrupted)> Waiting(IReadOnlyList<Tube> tubes, TimeSpan wait)
    {
        Interlocked.Increment(ref counters.CurrentWaiting);
        foreach (var tube in tubes)
            Interlocked.Increment(ref counters.Tube(tube.Name).Waiting);
        try
        {
            var waits = tubes.Select(t => (Tube: t, Reply: link.Send(t.Queue, new JobQueue.Reserve(wait), wait))).ToList();
            Got? got = null;
            var interrupted = false;
            var open = waits.Select(w => w.Reply).ToList();
            while (got is null && !interrupted && open.Count > 0)
            {
                Task<JobQueue.IReply> done;
                try
                {
                    done = await Task.WhenAny(open).WaitAsync(closed);
                }
                catch (OperationCanceledException)
                {
                    // The client closed (its agent stops, so a job handed out meanwhile goes back to Ready).
                    return (null, false);
                }
                open.Remove(done);
                if (done.Result is NoAnswer)
                    return (null, true); // no queue answered in time: asked again
                if (done.Result is JobQueue.Reserved reserved)
                    got = new Got(waits.First(w => w.Reply == done).Tube, reserved);
                else if (done.Result is not JobQueue.ReserveTimedOut)
                    interrupted = true;
            }
            foreach (var (tube, reply) in waits.Where(w => open.Contains(w.Reply)))
            {
                var cancel = link.Send(tube.Queue, JobQueue.CancelReserve.Instance);
                if (await QueueLink.WithTimeout(reply) is JobQueue.Reserved extra)
                {
                    if (got is null)
                        got = new Got(tube, extra);
                    else
                        _ = link.Send(tube.Queue, new JobQueue.Release(extra.Job.Id, extra.Token));
                }
                await QueueLink.WithTimeout(cancel);
            }
            return (got, interrupted && got is null);
        }
        finally
        {
            Interlocked.Decrement(ref counters.CurrentWaiting);
            foreach (var tube in tubes)
                Interlocked.Decrement(ref counters.Tube(tube.Name).Waiting);
        }
    }
}
