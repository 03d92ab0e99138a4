using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// Headless silos serve Prometheus' <c>/metrics</c> on a port of their own (cluster.sh gives each
/// silo one and prints it): Orleans' meters on every silo, and the silo-side counters (import tasks,
/// counted by the silo that runs the import) that no API node's <c>/metrics</c> shows.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloMetricsTests(ClusterFixture fixture) : IDisposable
{
    private readonly LocalCluster _cluster = fixture.Cluster;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = ImagesHttp.RequestTimeout };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Each_silo_serves_orleans_meters_and_the_imports_it_ran()
    {
        Assert.Equal(3, _cluster.SiloMetrics.Count);
        var before = await ImportsStartedAsync();

        using var images = new ImagesHttp(_cluster.ApiNodes[1]);
        var (created, id, body) = await images.CreateAsync("silo-metrics");
        Assert.True(created == HttpStatusCode.Created, body);
        using (var stage = new ByteArrayContent(new byte[4096]))
        {
            stage.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var staged = await _http.PutAsync(new Uri(_cluster.ApiNodes[1], $"/v2/images/{id}/stage"), stage);
            Assert.Equal(HttpStatusCode.NoContent, staged.StatusCode);
        }
        using (var import = await _http.PostAsync(new Uri(_cluster.ApiNodes[1], $"/v2/images/{id}/import"),
            new StringContent(JsonSerializer.Serialize(new { method = new { name = "glance-direct" } }), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, import.StatusCode);
        }

        var watch = Stopwatch.StartNew();
        while (await ImportsStartedAsync() <= before)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "no silo's /metrics counts the import");
            await Task.Delay(500);
        }
        foreach (var (k, url) in _cluster.SiloMetrics)
        {
            Assert.Equal(IPAddress.Loopback.ToString(), url.Host);
            var text = await _http.GetStringAsync(url);
            Assert.True(text.Split('\n').Any(l => l.StartsWith("orleans_", StringComparison.Ordinal)), $"silo {k} shows no Orleans meter:\n{text[..Math.Min(text.Length, 2000)]}");
            // Its own port answers /metrics only.
            using var other = await _http.GetAsync(new Uri(url, "/v2/images"));
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        }
    }

    /// <summary>glance_import_tasks_started_total summed over the silos.</summary>
    private async Task<double> ImportsStartedAsync()
    {
        double sum = 0;
        foreach (var url in _cluster.SiloMetrics.Values)
        {
            sum += PrometheusText.Sum(await _http.GetStringAsync(url), "glance_import_tasks_started_total");
        }
        return sum;
    }
}
