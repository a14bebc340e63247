using Linda.RabbitMQ;
using Xunit;

namespace Linda.Tests;

/// <summary>The RabbitMQ bridge's acknowledgements: many with one frame, in order, never naming a tag RabbitMQ no longer holds.</summary>
public sealed class AckWindowSpec
{
    private readonly List<(ulong Tag, bool Multiple)> _frames = [];
    private readonly AckWindow _window;

    public AckWindowSpec() => _window = new AckWindow((tag, multiple) =>
    {
        lock (_frames)
            _frames.Add((tag, multiple));
        return Task.CompletedTask;
    });

    [Fact]
    public async Task Tags_settled_out_of_order_are_acknowledged_once_the_gap_closes_with_one_frame()
    {
        foreach (var tag in new ulong[] { 2, 3, 5, 4 })
            await _window.AckAsync(tag);
        Assert.Empty(_frames); // 1 is still out
        await _window.AckAsync(1);
        Assert.Equal([(5UL, true)], _frames);
        await _window.AckAsync(6);
        Assert.Equal([(5UL, true), (6UL, true)], _frames);
    }

    [Fact]
    public async Task A_nacked_tag_is_passed_and_never_named_by_a_multiple_ack()
    {
        await _window.AckAsync(1);
        await _window.SkipAsync(3); // nacked: RabbitMQ no longer holds it
        await _window.AckAsync(2);
        Assert.Equal([(1UL, true), (2UL, true)], _frames);
        await _window.SkipAsync(4);
        Assert.Equal([(1UL, true), (2UL, true)], _frames); // nothing to acknowledge: 3 and 4 are settled already
        await _window.AckAsync(5);
        Assert.Equal((5UL, true), _frames[^1]);
    }

    [Fact]
    public async Task Messages_waiting_above_a_held_one_are_acknowledged_one_by_one_so_the_window_does_not_fill()
    {
        // Tag 1 is held (its Linda queue is away); 2..33 are done.
        for (ulong tag = 2; tag < 2 + AckWindow.MaxWaitingAboveGap; tag++)
            await _window.AckAsync(tag);
        Assert.Equal(AckWindow.MaxWaitingAboveGap, _frames.Count);
        Assert.All(_frames, f => Assert.False(f.Multiple));
        Assert.Equal(Enumerable.Range(2, AckWindow.MaxWaitingAboveGap).Select(t => (ulong)t), _frames.Select(f => f.Tag).Order());
        // Once 1 is done, the gap closes: one frame for 1 alone (the others are acknowledged already).
        _frames.Clear();
        await _window.AckAsync(1);
        Assert.Equal([(1UL, true)], _frames);
    }

    [Fact]
    public async Task Tags_settled_while_a_frame_is_on_its_way_go_together_in_the_next()
    {
        var release = new TaskCompletionSource();
        var frames = new List<(ulong, bool)>();
        var first = true;
        var window = new AckWindow(async (tag, multiple) =>
        {
            lock (frames)
                frames.Add((tag, multiple));
            if (first)
            {
                first = false;
                await release.Task; // the first frame is slow to go out
            }
        });
        var sending = window.AckAsync(1);
        await window.AckAsync(2); // taken by the sender of 1, returns at once
        await window.AckAsync(3);
        Assert.Equal([(1UL, true)], frames);
        release.SetResult();
        await sending;
        Assert.Equal([(1UL, true), (3UL, true)], frames);
    }
}
