using Akka.Actor;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests.Queue;

/// <summary>
/// Unit specs of <see cref="WriteBatches"/>, the queue actor's write path: which batch each event
/// joins, which batch each reply waits for, and the order in which batches and replies come out. No
/// actor runs: the test kit only provides distinct <see cref="IActorRef"/> values as recipients, and
/// the spec plays the actor's part (start a write, report it written, send its replies).
/// </summary>
public sealed class WriteBatchesSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch;

    /// <summary>Large enough that no spec that doesn't care about sizes ever fills a batch.</summary>
    private const int Roomy = 1 << 20;

    private readonly IActorRef _x;
    private readonly IActorRef _y;
    private readonly IActorRef _z;

    public WriteBatchesSpec(ITestOutputHelper output)
        : base(LindaSettings.DefaultConfig, "write-batches-spec", output)
    {
        _x = CreateTestProbe("x").Ref;
        _y = CreateTestProbe("y").Ref;
        _z = CreateTestProbe("z").Ref;
    }

    // ================================================================ helpers

    private static Job NewJob(string id, JobPayload? payload = null) =>
        new(id, TestJobs.Queue, payload ?? JobPayload.Create("work"), Job.DefaultPriority, TimeSpan.FromSeconds(60), null, null, T0);

    private static JobPushed Pushed(string id, JobPayload? payload = null) => new(T0, NewJob(id, payload), null);

    private static JobReserved Reserved(string id) => new(T0, id, 7, T0.AddSeconds(60), "akka://spec/user/worker");

    private static JobCompleted Completed(string id) => new(T0, id);

    private static JobsKicked Kicked(params string[] ids) => new(T0, ids);

    private static QueuePaused Paused() => new(T0, T0.AddSeconds(30));

    /// <summary>An event of the kind named about job <paramref name="id"/>.</summary>
    private static IEvent About(string kind, string id) => kind switch
    {
        "pushed" => Pushed(id),
        "reserved" => Reserved(id),
        "touched" => new JobTouched(T0, id, T0.AddSeconds(90)),
        "completed" => Completed(id),
        "released" => new JobReleased(T0, id, 5, null, "it failed"),
        "buried" => new JobBuried(T0, id, "no more retries", null),
        "deleted" => new JobDeleted(T0, id),
        "lease-lost" => new LeaseLost(T0, id, 7, "holder died"),
        "kicked" => Kicked(id),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such event kind"),
    };

    /// <summary>A batch limit that holds exactly <paramref name="count"/> events the size of <paramref name="like"/>.</summary>
    private static int RoomFor(int count, IEvent like) => count * WriteBatches.EstimatedSize(like);

    private static void AssertReplies(WriteBatches.Batch batch, params (IActorRef To, object Message)[] expected) =>
        Assert.Equal(expected, batch.Replies);

    /// <summary>Starts the next write, asserting there is one.</summary>
    private static WriteBatches.Batch Start(WriteBatches writes) =>
        writes.StartNext() ?? throw new Xunit.Sdk.XunitException("expected a batch to start");

    /// <summary>Every batch from now on, written one at a time as the actor does.</summary>
    private static List<WriteBatches.Batch> WriteAll(WriteBatches writes)
    {
        var written = new List<WriteBatches.Batch>();
        if (writes.InFlight is not null)
            written.Add(writes.Written());
        while (writes.StartNext() is not null)
            written.Add(writes.Written());
        return written;
    }

    // ================================================================ starting and finishing writes

    [Fact]
    public void A_new_write_path_is_idle_with_nothing_to_write()
    {
        var writes = new WriteBatches(Roomy);

        Assert.True(writes.Idle);
        Assert.True(writes.NothingWaiting);
        Assert.Null(writes.InFlight);
        Assert.Null(writes.StartNext());
        Assert.Equal(Roomy, writes.MaxBytes);
    }

    [Fact]
    public void An_event_on_an_idle_queue_opens_a_batch_that_waits_for_a_write()
    {
        var writes = new WriteBatches(Roomy);

        writes.Add(Pushed("a"));

        Assert.False(writes.Idle);
        Assert.False(writes.NothingWaiting);
        Assert.Null(writes.InFlight);
    }

    [Fact]
    public void StartNext_hands_out_the_open_batch_and_it_is_in_flight()
    {
        var writes = new WriteBatches(Roomy);
        var pushed = Pushed("a");
        var reserved = Reserved("a");
        writes.Add(pushed);
        writes.Add(reserved);

        var batch = writes.StartNext();

        Assert.NotNull(batch);
        Assert.Same(batch, writes.InFlight);
        Assert.Equal([pushed, reserved], batch.Events);
        Assert.Equal(WriteBatches.EstimatedSize(pushed) + WriteBatches.EstimatedSize(reserved), batch.Bytes);
        Assert.True(writes.NothingWaiting);
        Assert.False(writes.Idle);
    }

    [Fact]
    public void Events_added_while_a_write_is_in_flight_go_into_the_next_batch()
    {
        var writes = new WriteBatches(Roomy);
        var first = Pushed("a");
        var second = Pushed("b");
        var third = Reserved("a");
        writes.Add(first);
        var inFlight = Start(writes);

        writes.Add(second);
        writes.Add(third);

        Assert.Equal([first], inFlight.Events);
        Assert.False(writes.NothingWaiting);
        Assert.Null(writes.StartNext()); // one write at a time
        Assert.Same(inFlight, writes.InFlight);

        Assert.Same(inFlight, writes.Written());
        Assert.Null(writes.InFlight);
        var next = Start(writes);
        Assert.NotSame(inFlight, next);
        Assert.Equal([second, third], next.Events);
        Assert.True(next.Number > inFlight.Number, $"batch {next.Number} comes after batch {inFlight.Number}");
    }

    [Fact]
    public void While_paused_no_write_starts_and_the_events_wait_together_for_the_next_one()
    {
        var writes = new WriteBatches(Roomy);
        var first = Pushed("a");
        var second = Pushed("b");
        writes.Paused = true;
        writes.Add(first);
        writes.Add(second);

        Assert.Null(writes.StartNext());
        Assert.Null(writes.InFlight);
        Assert.False(writes.NothingWaiting);

        writes.Paused = false;
        Assert.Equal([first, second], Start(writes).Events);
    }

    [Fact]
    public void A_failed_write_ends_a_pause()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.Paused = true;

        Assert.Single(writes.TakeAll());

        Assert.False(writes.Paused);
        writes.Add(Pushed("b"));
        Assert.NotNull(writes.StartNext());
    }

    [Fact]
    public void Once_the_last_write_is_done_the_queue_is_idle_again()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        Start(writes);

        writes.Written();

        Assert.True(writes.Idle);
        Assert.True(writes.NothingWaiting);
        Assert.Null(writes.InFlight);
        Assert.Null(writes.StartNext());
    }

    [Fact]
    public void Written_without_a_write_in_flight_throws()
    {
        var writes = new WriteBatches(Roomy);
        Assert.Throws<InvalidOperationException>(() => writes.Written());

        writes.Add(Pushed("a"));
        Assert.Throws<InvalidOperationException>(() => writes.Written()); // waiting is not in flight

        Start(writes);
        writes.Written();
        Assert.Throws<InvalidOperationException>(() => writes.Written()); // not twice
    }

    // ================================================================ batch sizes

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void The_constructor_rejects_a_MaxBytes_of_zero_or_less(int maxBytes)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new WriteBatches(maxBytes));
        Assert.Equal("maxBytes", error.ParamName);
    }

    [Fact]
    public void A_MaxBytes_of_one_byte_is_accepted_and_every_event_goes_alone()
    {
        var writes = new WriteBatches(1);
        var events = new IEvent[] { Pushed("a"), Reserved("a"), Completed("a") };
        foreach (var e in events)
            writes.Add(e);

        Assert.Equal(1, writes.MaxBytes);
        Assert.Equal(events.Select(e => new[] { e }), WriteAll(writes).Select(b => b.Events.ToArray()));
    }

    [Fact]
    public void A_batch_closes_at_MaxBytes_and_the_next_event_opens_a_new_one()
    {
        var events = new IEvent[] { Pushed("a"), Pushed("b"), Pushed("c"), Pushed("d"), Pushed("e") };
        var size = WriteBatches.EstimatedSize(events[0]);
        var writes = new WriteBatches(RoomFor(2, events[0])); // exactly two: a batch may be filled to the byte
        foreach (var e in events)
            writes.Add(e);

        var batches = WriteAll(writes);

        Assert.Equal([[events[0], events[1]], [events[2], events[3]], [events[4]]], batches.Select(b => b.Events.ToArray()));
        Assert.Equal([2 * size, 2 * size, size], batches.Select(b => b.Bytes));
    }

    [Fact]
    public void An_event_one_byte_too_big_for_the_open_batch_opens_the_next()
    {
        var first = Pushed("a");
        var second = Pushed("b");
        var writes = new WriteBatches(RoomFor(2, first) - 1);
        writes.Add(first);
        writes.Add(second);

        Assert.Equal([[first], [second]], WriteAll(writes).Select(b => b.Events.ToArray()));
    }

    [Fact]
    public void An_event_larger_than_MaxBytes_goes_alone_in_its_batch()
    {
        var small = Pushed("a");
        var big = Pushed("big", JobPayload.Create("work", new string('x', 4096)));
        var after = Completed("a");
        var writes = new WriteBatches(RoomFor(3, small));
        Assert.True(WriteBatches.EstimatedSize(big) > writes.MaxBytes, "the big event must exceed a whole batch");

        writes.Add(small);
        writes.Add(big);
        writes.Add(after);

        var batches = WriteAll(writes);
        Assert.Equal([[small], [big], [after]], batches.Select(b => b.Events.ToArray()));
        Assert.Equal(WriteBatches.EstimatedSize(big), batches[1].Bytes);
    }

    [Fact]
    public void An_event_larger_than_MaxBytes_on_an_idle_queue_opens_a_batch_of_its_own()
    {
        var big = Pushed("big", JobPayload.Create("work", new string('x', 4096)));
        var small = Completed("big");
        var writes = new WriteBatches(WriteBatches.EstimatedSize(big) / 2);

        writes.Add(big);
        writes.Add(small);

        Assert.Equal([[big], [small]], WriteAll(writes).Select(b => b.Events.ToArray()));
    }

    [Fact]
    public void Full_batches_come_out_in_order_one_write_at_a_time()
    {
        var events = Enumerable.Range(0, 5).Select(i => (IEvent)Pushed($"job-{i}")).ToArray();
        var writes = new WriteBatches(RoomFor(1, events[0]));
        foreach (var e in events)
            writes.Add(e);

        var numbers = new List<long>();
        foreach (var e in events)
        {
            var batch = Start(writes);
            Assert.Equal([e], batch.Events);
            Assert.Null(writes.StartNext());
            numbers.Add(batch.Number);
            Assert.Same(batch, writes.Written());
        }

        Assert.True(writes.Idle);
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
    }

    [Fact]
    public void EstimatedSize_grows_with_a_pushed_jobs_payload_and_a_kicks_ids()
    {
        var small = JobPayload.Create("work", "x");
        var large = JobPayload.Create("work", new string('x', 1001));

        Assert.Equal(large.Size - small.Size, WriteBatches.EstimatedSize(Pushed("a", large)) - WriteBatches.EstimatedSize(Pushed("a", small)));
        Assert.True(WriteBatches.EstimatedSize(Kicked("a", "b", "c")) > WriteBatches.EstimatedSize(Kicked("a")));
        Assert.True(WriteBatches.EstimatedSize(Paused()) > 0);
    }

    // ================================================================ ReplyWithLastEvent

    [Fact]
    public void ReplyWithLastEvent_puts_the_reply_in_the_batch_of_the_last_event_added()
    {
        var first = Pushed("a");
        var writes = new WriteBatches(RoomFor(1, first)); // each event alone
        writes.Add(first);
        writes.Add(Pushed("b"));

        writes.ReplyWithLastEvent(_x, "b pushed");

        var batches = WriteAll(writes);
        Assert.Equal(2, batches.Count);
        AssertReplies(batches[0]);
        AssertReplies(batches[1], (_x, "b pushed"));
    }

    [Fact]
    public void ReplyWithLastEvent_goes_in_the_open_batch_not_the_write_in_flight()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));

        writes.ReplyWithLastEvent(_x, "b pushed");

        AssertReplies(inFlight);
        writes.Written();
        AssertReplies(Start(writes), (_x, "b pushed"));
    }

    [Fact]
    public void ReplyWithLastEvent_throws_when_no_event_waits_for_a_write()
    {
        var writes = new WriteBatches(Roomy);
        Assert.Throws<InvalidOperationException>(() => writes.ReplyWithLastEvent(_x, "nothing"));

        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        Assert.Throws<InvalidOperationException>(() => writes.ReplyWithLastEvent(_x, "nothing")); // its event is already being written
        AssertReplies(inFlight);
    }

    // ================================================================ ReplyAfterAll

    [Fact]
    public void ReplyAfterAll_is_false_when_nothing_is_pending_and_queues_nothing()
    {
        var writes = new WriteBatches(Roomy);

        Assert.False(writes.ReplyAfterAll(_x, "stats"));

        Assert.False(writes.ReplyInOrder(_x, "next")); // nothing was left pending for the recipient
        writes.Add(Pushed("a"));
        AssertReplies(Start(writes));
    }

    [Fact]
    public void ReplyAfterAll_waits_behind_the_open_batch()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));

        Assert.True(writes.ReplyAfterAll(_x, "stats"));

        AssertReplies(inFlight);
        writes.Written();
        AssertReplies(Start(writes), (_x, "stats"));
    }

    [Fact]
    public void ReplyAfterAll_waits_behind_the_write_in_flight_when_nothing_waits()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);

        Assert.True(writes.ReplyAfterAll(_x, "stats"));

        AssertReplies(inFlight, (_x, "stats"));
        Assert.True(writes.NothingWaiting);
    }

    [Fact]
    public void ReplyAfterAll_waits_behind_the_last_of_several_waiting_batches()
    {
        var first = Pushed("a");
        var writes = new WriteBatches(RoomFor(1, first));
        writes.Add(first);
        writes.Add(Pushed("b"));
        writes.Add(Pushed("c"));

        Assert.True(writes.ReplyAfterAll(_x, "stats"));

        var batches = WriteAll(writes);
        Assert.Equal(3, batches.Count);
        AssertReplies(batches[0]);
        AssertReplies(batches[1]);
        AssertReplies(batches[2], (_x, "stats"));
    }

    [Fact]
    public void ReplyAfterAll_is_false_again_once_everything_is_written()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        Assert.True(writes.ReplyAfterAll(_x, "first"));
        Start(writes);
        writes.Written();

        Assert.False(writes.ReplyAfterAll(_x, "second"));
    }

    // ================================================================ ReplyAfterJob

    [Fact]
    public void ReplyAfterJob_is_false_when_the_job_has_no_pending_event()
    {
        var writes = new WriteBatches(Roomy);
        Assert.False(writes.ReplyAfterJob("a", _x, "lease"));

        writes.Add(Pushed("b")); // another job's event is pending
        Assert.False(writes.ReplyAfterJob("a", _x, "lease"));

        AssertReplies(Start(writes));
    }

    [Theory]
    [InlineData("pushed")]
    [InlineData("reserved")]
    [InlineData("touched")]
    [InlineData("completed")]
    [InlineData("released")]
    [InlineData("buried")]
    [InlineData("deleted")]
    [InlineData("lease-lost")]
    [InlineData("kicked")]
    public void Every_event_about_a_job_makes_it_pending(string kind)
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(About(kind, "a"));

        Assert.True(writes.ReplyAfterJob("a", _x, "lease"));
        Assert.False(writes.ReplyAfterJob("b", _y, "other lease"));

        AssertReplies(Start(writes), (_x, "lease"));
    }

    [Fact]
    public void Events_about_the_queue_make_no_job_pending()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Paused());
        writes.Add(new QueueResumed(T0));

        Assert.False(writes.ReplyAfterJob("a", _x, "lease"));
        Assert.False(writes.ReplyAfterJob(string.Empty, _y, "lease"));
    }

    [Fact]
    public void ReplyAfterJob_waits_behind_the_write_in_flight_that_holds_the_jobs_latest_event()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));

        Assert.True(writes.ReplyAfterJob("a", _x, "lease of a"));

        AssertReplies(inFlight, (_x, "lease of a")); // not behind b's write: a's event is all it needs
        writes.Written();
        AssertReplies(Start(writes));
    }

    [Fact]
    public void ReplyAfterJob_waits_behind_the_open_batch_when_that_holds_the_jobs_latest_event()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Reserved("a"));

        Assert.True(writes.ReplyAfterJob("a", _x, "lease of a"));

        AssertReplies(inFlight);
        writes.Written();
        AssertReplies(Start(writes), (_x, "lease of a"));
    }

    [Fact]
    public void ReplyAfterJob_uses_the_batch_of_the_jobs_latest_event_among_several_waiting()
    {
        var first = Pushed("a");
        var writes = new WriteBatches(RoomFor(1, first));
        writes.Add(first);        // batch 1
        writes.Add(Reserved("a")); // batch 2
        writes.Add(Pushed("b"));  // batch 3

        Assert.True(writes.ReplyAfterJob("a", _x, "lease of a"));

        var batches = WriteAll(writes);
        Assert.Equal(3, batches.Count);
        AssertReplies(batches[0]);
        AssertReplies(batches[1], (_x, "lease of a"));
        AssertReplies(batches[2]);
    }

    [Fact]
    public void JobsKicked_with_several_ids_makes_each_of_them_pending()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Kicked("a", "b", "c"));
        var inFlight = Start(writes);
        writes.Add(Pushed("d"));
        var w = CreateTestProbe("w").Ref;

        // Distinct recipients, so that no recipient's order moves a reply.
        Assert.True(writes.ReplyAfterJob("a", _x, "a"));
        Assert.True(writes.ReplyAfterJob("b", _y, "b"));
        Assert.True(writes.ReplyAfterJob("c", _z, "c"));
        Assert.True(writes.ReplyAfterJob("d", w, "d"));
        Assert.False(writes.ReplyAfterJob("e", CreateTestProbe("v").Ref, "e")); // not kicked

        AssertReplies(inFlight, (_x, "a"), (_y, "b"), (_z, "c"));
        writes.Written();
        AssertReplies(Start(writes), (w, "d"));
    }

    [Fact]
    public void After_Written_the_job_has_no_pending_event()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.Add(Kicked("b", "c"));
        Start(writes);

        writes.Written();

        Assert.False(writes.ReplyAfterJob("a", _x, "a"));
        Assert.False(writes.ReplyAfterJob("b", _y, "b"));
        Assert.False(writes.ReplyAfterJob("c", _z, "c"));
    }

    [Fact]
    public void A_job_with_events_in_two_batches_is_pending_until_its_latest_is_written()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        Start(writes);
        writes.Add(Reserved("a"));

        writes.Written(); // the push: the reservation still waits

        Assert.True(writes.ReplyAfterJob("a", _x, "lease of a"));
        var second = Start(writes);
        AssertReplies(second, (_x, "lease of a"));
        writes.Written();
        Assert.False(writes.ReplyAfterJob("a", _y, "later"));
    }

    // ================================================================ per-recipient order

    [Fact]
    public void ReplyInOrder_is_false_when_the_recipient_has_nothing_pending()
    {
        var writes = new WriteBatches(Roomy);
        Assert.False(writes.ReplyInOrder(_x, "verdict"));

        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_y, "pushed"); // someone else waits

        Assert.False(writes.ReplyInOrder(_x, "verdict"));
        AssertReplies(Start(writes), (_y, "pushed"));
    }

    [Fact]
    public void ReplyInOrder_waits_behind_the_recipients_reply_in_the_open_batch()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));
        Assert.True(writes.ReplyAfterAll(_x, "first"));

        Assert.True(writes.ReplyInOrder(_x, "second"));

        AssertReplies(inFlight);
        writes.Written();
        AssertReplies(Start(writes), (_x, "first"), (_x, "second"));
    }

    [Fact]
    public void ReplyInOrder_waits_in_the_write_in_flight_when_the_recipients_last_reply_is_there()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_x, "first");
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));

        Assert.True(writes.ReplyInOrder(_x, "second"));

        AssertReplies(inFlight, (_x, "first"), (_x, "second")); // not held for b's write
        writes.Written();
        AssertReplies(Start(writes));
    }

    [Fact]
    public void ReplyAfterJob_never_overtakes_the_recipients_reply_in_the_open_batch()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));
        writes.ReplyWithLastEvent(_x, "first");

        Assert.True(writes.ReplyAfterJob("a", _x, "lease of a")); // a alone would go with the write in flight

        AssertReplies(inFlight);
        writes.Written();
        AssertReplies(Start(writes), (_x, "first"), (_x, "lease of a"));
    }

    [Fact]
    public void ReplyAfterJob_of_a_written_job_waits_behind_the_recipients_pending_reply()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("b"));
        writes.ReplyWithLastEvent(_x, "first");

        Assert.True(writes.ReplyAfterJob("a", _x, "lease of a")); // a has nothing pending, but _x has

        AssertReplies(Start(writes), (_x, "first"), (_x, "lease of a"));
    }

    [Fact]
    public void One_recipients_pending_reply_holds_back_no_other_recipient()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));
        writes.ReplyWithLastEvent(_x, "b pushed");

        Assert.False(writes.ReplyInOrder(_y, "verdict"));
        Assert.True(writes.ReplyAfterJob("a", _y, "lease of a"));

        AssertReplies(inFlight, (_y, "lease of a"));
    }

    [Fact]
    public void After_its_batch_is_written_the_recipient_is_free_again()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_x, "pushed");
        Start(writes);

        writes.Written();

        Assert.False(writes.ReplyInOrder(_x, "verdict"));
        Assert.False(writes.ReplyAfterJob("a", _x, "lease"));
    }

    [Fact]
    public void A_recipient_with_replies_in_two_batches_is_held_until_the_later_is_written()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_x, "a pushed");
        Start(writes);
        writes.Add(Pushed("b"));
        writes.ReplyWithLastEvent(_x, "b pushed");

        writes.Written(); // the first: "b pushed" is still pending

        Assert.True(writes.ReplyInOrder(_x, "verdict"));
        var second = Start(writes);
        AssertReplies(second, (_x, "b pushed"), (_x, "verdict"));
        writes.Written();
        Assert.False(writes.ReplyInOrder(_x, "later"));
    }

    [Fact]
    public void A_recipients_replies_leave_in_the_order_they_were_decided()
    {
        var writes = new WriteBatches(Roomy);
        var delivered = new List<object>();
        void Send(bool queued, string message)
        {
            if (!queued)
                delivered.Add(message); // at once, as the actor does
        }
        void Write() => delivered.AddRange(writes.Written().Replies.Where(r => r.To.Equals(_x)).Select(r => r.Message));

        Send(writes.ReplyInOrder(_x, "1"), "1");
        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_x, "2");
        Start(writes);
        Send(writes.ReplyInOrder(_x, "3"), "3");
        writes.Add(Pushed("b"));
        writes.ReplyWithLastEvent(_x, "4");
        Send(writes.ReplyAfterJob("a", _x, "5"), "5");
        Send(writes.ReplyInOrder(_x, "6"), "6");
        Write();
        Assert.Equal(["1", "2", "3"], delivered);

        Start(writes);
        Send(writes.ReplyAfterAll(_x, "7"), "7");
        Send(writes.ReplyAfterJob("b", _x, "8"), "8");
        Write();
        Send(writes.ReplyInOrder(_x, "9"), "9");
        Send(writes.ReplyAfterAll(_x, "10"), "10");

        Assert.Equal(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"], delivered);
        Assert.True(writes.Idle);
    }

    // ================================================================ AfterAll

    [Fact]
    public void AfterAll_is_false_when_idle_and_attaches_nothing()
    {
        var writes = new WriteBatches(Roomy);
        var ran = 0;

        Assert.False(writes.AfterAll(() => ran++));

        writes.Add(Pushed("a"));
        Assert.Null(Start(writes).Then);
        Assert.Equal(0, ran);
    }

    [Fact]
    public void AfterAll_attaches_the_action_to_the_last_batch()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));
        var ran = new List<string>();

        Assert.True(writes.AfterAll(() => ran.Add("first")));
        Assert.True(writes.AfterAll(() => ran.Add("second")));

        Assert.Null(inFlight.Then);
        writes.Written();
        var last = Start(writes);
        Assert.NotNull(last.Then);
        foreach (var action in last.Then)
            action();
        Assert.Equal(["first", "second"], ran);
    }

    [Fact]
    public void AfterAll_attaches_the_action_to_the_write_in_flight_when_nothing_waits()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var inFlight = Start(writes);
        var ran = 0;

        Assert.True(writes.AfterAll(() => ran++));

        var then = Assert.Single(inFlight.Then!);
        then();
        Assert.Equal(1, ran);
        Assert.True(writes.NothingWaiting);
    }

    [Fact]
    public void AfterAll_is_false_again_once_everything_is_written()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        Assert.True(writes.AfterAll(() => { }));
        Start(writes);
        writes.Written();

        Assert.False(writes.AfterAll(() => { }));
    }

    // ================================================================ TakeAll

    [Fact]
    public void TakeAll_returns_the_write_in_flight_then_the_waiting_batches_and_leaves_the_queue_idle()
    {
        var first = Pushed("a");
        var writes = new WriteBatches(RoomFor(1, first));
        writes.Add(first);
        writes.ReplyWithLastEvent(_x, "a pushed");
        var inFlight = Start(writes);
        writes.Add(Pushed("b"));
        writes.ReplyWithLastEvent(_y, "b pushed");
        writes.Add(Pushed("c"));
        writes.ReplyWithLastEvent(_z, "c pushed");

        var all = writes.TakeAll();

        Assert.Equal(3, all.Count);
        Assert.Same(inFlight, all[0]);
        Assert.Equal(["a", "b", "c"], all.Select(b => ((JobPushed)Assert.Single(b.Events)).Job.Id));
        AssertReplies(all[0], (_x, "a pushed"));
        AssertReplies(all[1], (_y, "b pushed"));
        AssertReplies(all[2], (_z, "c pushed"));
        Assert.True(writes.Idle);
        Assert.True(writes.NothingWaiting);
        Assert.Null(writes.InFlight);
        Assert.Null(writes.StartNext());
    }

    [Fact]
    public void After_TakeAll_no_job_or_recipient_is_pending()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_x, "a pushed");
        Start(writes);
        writes.Add(Reserved("b"));
        writes.ReplyWithLastEvent(_y, "b reserved");

        writes.TakeAll();

        Assert.False(writes.ReplyAfterJob("a", _z, "lease of a"));
        Assert.False(writes.ReplyAfterJob("b", _z, "lease of b"));
        Assert.False(writes.ReplyInOrder(_x, "verdict"));
        Assert.False(writes.ReplyInOrder(_y, "verdict"));
        Assert.False(writes.ReplyAfterAll(_x, "stats"));
        Assert.False(writes.AfterAll(() => { }));
        Assert.Throws<InvalidOperationException>(() => writes.ReplyWithLastEvent(_x, "nothing"));
        Assert.Throws<InvalidOperationException>(() => writes.Written());
    }

    [Fact]
    public void TakeAll_on_an_idle_queue_returns_nothing()
    {
        var writes = new WriteBatches(Roomy);

        Assert.Empty(writes.TakeAll());
        Assert.True(writes.Idle);
    }

    [Fact]
    public void After_TakeAll_a_new_event_opens_a_fresh_batch()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        var taken = Assert.Single(writes.TakeAll());
        var next = Pushed("b");

        writes.Add(next);

        var batch = Start(writes);
        Assert.NotSame(taken, batch);
        Assert.Equal([next], batch.Events);
        Assert.True(batch.Number > taken.Number, $"batch {batch.Number} comes after batch {taken.Number}");
    }

    // ================================================================ Recycle

    [Fact]
    public void Recycle_clears_the_batch_but_not_the_events_list_handed_to_the_journal()
    {
        var writes = new WriteBatches(Roomy);
        var pushed = Pushed("a");
        var completed = Completed("a");
        writes.Add(pushed);
        writes.Add(completed);
        writes.ReplyWithLastEvent(_x, "done");
        writes.AfterAll(() => { });
        var batch = Start(writes);
        var journalsList = batch.Events; // what the actor hands to PersistAsync
        Assert.Same(batch, writes.Written());

        writes.Recycle(batch);

        Assert.Equal([pushed, completed], journalsList);
        Assert.NotSame(journalsList, batch.Events);
        Assert.Empty(batch.Events);
        Assert.Equal(0, batch.Bytes);
        Assert.Empty(batch.Replies);
        Assert.Null(batch.Then);
    }

    [Fact]
    public void A_recycled_batch_is_reused_clean_for_a_later_write()
    {
        var writes = new WriteBatches(Roomy);
        writes.Add(Pushed("a"));
        writes.ReplyWithLastEvent(_x, "a pushed");
        writes.AfterAll(() => { });
        var first = Start(writes);
        var firstNumber = first.Number;
        var firstEvents = first.Events;
        writes.Written();
        writes.Recycle(first);
        var next = Completed("b");

        writes.Add(next);
        var second = Start(writes);

        Assert.Same(first, second);
        Assert.True(second.Number > firstNumber, $"batch {second.Number} comes after batch {firstNumber}");
        Assert.Equal([next], second.Events);
        Assert.Equal(WriteBatches.EstimatedSize(next), second.Bytes);
        Assert.Empty(second.Replies);
        Assert.Null(second.Then);
        Assert.Equal(["a"], firstEvents.Select(e => ((JobPushed)e).Job.Id));
        Assert.False(writes.ReplyInOrder(_x, "verdict")); // the old reply is not pending in the reused batch
        Assert.False(writes.ReplyAfterJob("a", _y, "lease of a"));
    }
}
