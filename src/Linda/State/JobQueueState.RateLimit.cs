namespace Linda;

// A queue's rate limit: at most N reserves per period, as a token bucket on the queue's clock.
public sealed partial class JobQueueState
{
    // The bucket as time credit, in ticks (whole numbers, so a replay comes to the same bucket as the
    // live queue did): one reserve costs period / N; the credit grows with time up to N reserves' worth.
    private long _rateCredit = -1; // -1: full (set on first use, when the limit is known)
    private DateTimeOffset _rateCreditAt;

    private long RateCost => Limits.MaxReservesPerPeriod > 0 ? Math.Max(1, Limits.RatePeriod.Ticks / Limits.MaxReservesPerPeriod) : 0;

    private long RateCapacity => RateCost * Limits.MaxReservesPerPeriod;

    /// <summary>True when the rate limit lets a reserve go now (always without a limit).</summary>
    public bool RateAllows => Limits.MaxReservesPerPeriod <= 0 || RateCreditNow() >= RateCost;

    /// <summary>With a rate limit and no credit: when the next reserve may go.</summary>
    private DateTimeOffset? NextRateCredit =>
        Limits.MaxReservesPerPeriod > 0 && RateCreditNow() is var credit && credit < RateCost
            ? Now + TimeSpan.FromTicks(RateCost - credit)
            : null;

    private long RateCreditNow()
    {
        if (_rateCredit < 0)
            return RateCapacity;
        var grown = _rateCredit + Math.Max(0, (Now - _rateCreditAt).Ticks);
        return grown < RateCapacity ? grown : RateCapacity;
    }

    /// <summary>A reserve went out: it spends one reserve's credit (the bucket may go below one, never below zero).</summary>
    private void SpendRateCredit()
    {
        if (Limits.MaxReservesPerPeriod <= 0)
            return;
        _rateCredit = Math.Max(0, RateCreditNow() - RateCost);
        _rateCreditAt = Now;
    }
}
