using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Linda.Telemetry;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// Listens to Linda's meter (<see cref="LindaTelemetry.Meter"/>) like an exporter would, and keeps
/// every measurement of one queue: the listener is process-wide, and other specs' queues run
/// meanwhile, so each spec names its queue uniquely and reads only that queue's measurements.
/// </summary>
public sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Recorded> _recorded = new();
    private readonly string _queue;

    public sealed record Recorded(string Instrument, string? Unit, double Value, IReadOnlyDictionary<string, object?> Tags);

    public MetricsRecorder(string queue)
    {
        _queue = queue;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LindaTelemetry.Name)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var t in tags)
            dict[t.Key] = t.Value;
        if (dict.GetValueOrDefault(LindaTelemetry.Attributes.Destination) as string == _queue)
            _recorded.Enqueue(new Recorded(instrument.Name, instrument.Unit, value, dict));
    }

    /// <summary>Asks the observable gauges for their values now (they report into this recorder).</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    /// <summary>Every measurement of <paramref name="instrument"/> so far.</summary>
    public IReadOnlyList<Recorded> Of(string instrument) => _recorded.Where(r => r.Instrument == instrument).ToList();

    /// <summary>The sum of a counter's measurements (0 with none).</summary>
    public double Sum(string instrument) => Of(instrument).Sum(r => r.Value);

    /// <summary>The latest value a gauge reported with <paramref name="tag"/> = <paramref name="value"/>.</summary>
    public double? Latest(string instrument, string? tag = null, string? value = null) =>
        Of(instrument).LastOrDefault(r => tag is null || Equals(r.Tags.GetValueOrDefault(tag), value))?.Value;

    public void Dispose() => _listener.Dispose();
}
