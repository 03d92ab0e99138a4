using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Traces: one HTTP request's trace (recorded by an in-process ActivityListener, as an
/// OpenTelemetry SDK would listen) holds the request's span, tagged with its OpenStack request id,
/// and the spans of the grain calls it made, which carry the request id as baggage. Progress: a
/// running import's tasks show it over HTTP, and its counters move when it ends.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests
{
    [Fact]
    public async Task A_requests_trace_carries_its_request_id_and_the_spans_of_its_grain_calls()
    {
        // Traces of grain calls, as with an OTLP endpoint (without one they are off: they cost).
        await using var server = new GlanceServer(_ => new Dictionary<string, string?> { ["Glance:Traces:Enabled"] = "true" });
        var api = server.Client;
        var id = await api.CreateUploadableAsync(Persona.P1);
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
                || source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var requestId = $"req-{Guid.NewGuid()}";
        var shown = Expect.Status(await api.SendAsync(HttpMethod.Get, $"/v2/images/{id}", Persona.P1, null,
            new Dictionary<string, string> { ["x-openstack-request-id"] = requestId }), 200);
        Assert.Equal(requestId, shown.Header("x-openstack-request-id"));

        Activity? request = null;
        Assert.True(await ImageBytes.EventuallyAsync(() =>
        {
            request = stopped.FirstOrDefault(a => a.Kind == ActivityKind.Server && a.GetTagItem("openstack.request_id") as string == requestId);
            return Task.FromResult(request is not null);
        }), "no server span tagged with the request id");
        Assert.Equal(Persona.P1.Project, request!.GetTagItem("openstack.project_id"));
        var trace = stopped.Where(a => a.TraceId == request.TraceId).ToList();
        var names = string.Join(", ", trace.Select(a => $"{a.Source.Name}:{a.OperationName}"));
        // The call from the HTTP handler to the image grain, and the grain's side of it.
        var grainCalls = trace.Where(a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)
            && a.OperationName.Contains("ImageGrain", StringComparison.Ordinal)).ToList();
        Assert.True(grainCalls.Count >= 1, $"no image grain span in the trace: {names}");
        Assert.Contains(grainCalls, a => a.Kind == ActivityKind.Client);
        Assert.Contains(grainCalls, a => a.Kind == ActivityKind.Server);
        Assert.All(grainCalls, a => Assert.Equal(requestId, a.GetBaggageItem("openstack.request_id")));
        // Nothing of another request is in it.
        Assert.DoesNotContain(trace, a => a.GetTagItem("openstack.request_id") is string other && other != requestId);
    }

    [Fact]
    public async Task A_running_imports_tasks_show_its_progress_over_HTTP()
    {
        await using var web = new LoopbackHttpServer();
        await using var server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Import:AllowedPorts:0"] = web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Glance:Import:AllowedHosts:0"] = "127.0.0.1",
        });
        var api = server.Client;
        var data = ImageBytes.Bytes((3 << 20) + 777);
        web.Throttled("/slow.raw", data, piece: 128 << 10, pause: TimeSpan.FromMilliseconds(75));
        var id = await api.CreateUploadableAsync(Persona.P1);
        var before = await MetricsTests.ScrapeAsync(api);

        var body = JsonSerializer.Serialize(new { method = new { name = "web-download", uri = web.Url("/slow.raw") } });
        Expect.Status(await api.PostJsonAsync($"/v2/images/{id}/import", Persona.P1, body), 202);
        JsonElement? running = null, shown = null;
        Assert.True(await ImageBytes.EventuallyAsync(async () =>
        {
            var task = Assert.Single(Expect.Status(await api.GetAsync($"/v2/images/{id}/tasks", Persona.P1), 200).Json.GetProperty("tasks").EnumerateArray());
            if (task.TryGetProperty("progress", out var progress) && progress.GetProperty("bytes_done").GetInt64() > 0)
            {
                running = task;
                shown = Expect.Status(await api.GetAsync($"/v2/tasks/{Expect.Str(task, "id")}", Persona.Admin), 200).Json;
                return true;
            }
            return false;
        }), "no progress while the import ran");
        var done = running!.Value.GetProperty("progress").GetProperty("bytes_done").GetInt64();
        Assert.Equal("processing", Expect.Str(running.Value, "status"));
        Assert.Equal(data.Length, running.Value.GetProperty("progress").GetProperty("bytes_total").GetInt64());
        Assert.Equal($"Copied {done >> 20} MiB", Expect.Str(running.Value, "message"));
        if (Expect.Str(shown!.Value, "status") == "processing")
        {
            Assert.Equal(data.Length, shown.Value.GetProperty("progress").GetProperty("bytes_total").GetInt64());
        }

        Assert.True(await ImageBytes.EventuallyAsync(async () => Expect.Str(await api.ShowImageAsync(id, Persona.P1), "status") == "active"));
        var ended = Assert.Single(Expect.Status(await api.GetAsync($"/v2/images/{id}/tasks", Persona.P1), 200).Json.GetProperty("tasks").EnumerateArray());
        Assert.Equal("success", Expect.Str(ended, "status"));
        Assert.False(ended.TryGetProperty("progress", out _));
        // The import counted as started and finished (success), its bytes as received.
        var after = await MetricsTests.ScrapeAsync(api);
        Assert.Equal(1, after.Value("glance_import_tasks_started_total", "method=\"web-download\"") - before.Value("glance_import_tasks_started_total", "method=\"web-download\""));
        Assert.Equal(1, after.Value("glance_import_tasks_finished_total", "outcome=\"success\"") - before.Value("glance_import_tasks_finished_total", "outcome=\"success\""));
        Assert.Equal(data.Length, after.Value("glance_data_received_bytes_total") - before.Value("glance_data_received_bytes_total"));
    }
}
