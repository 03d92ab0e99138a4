using Glance.Grains.Hosting;
using Glance.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Glance.Storage.Tests;

/// <summary>
/// <c>Glance:ImageData:Store</c> picks the store; a missing or malformed Azure setting stops start-up
/// with a message naming it (the Azure store on Azurite: <see cref="AzureBlobImageDataStoreTests"/>).
/// </summary>
public sealed class RegistrationTests
{
    [Fact]
    public void The_file_store_is_the_default()
    {
        var directory = Directory.CreateTempSubdirectory("glance-data-").FullName;
        try
        {
            using var services = Build(new() { ["Glance:DataDirectory"] = directory });

            Assert.IsType<FileImageDataStore>(services.GetRequiredService<IImageDataStore>());
            Assert.True(Directory.Exists(Path.Combine(directory, "images")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Store_azure_without_a_connection_string_fails_at_start_up(string? connectionString)
    {
        var settings = new Dictionary<string, string?> { ["Glance:ImageData:Store"] = "azure" };
        if (connectionString is not null)
        {
            settings["Glance:ImageData:AzureConnectionString"] = connectionString;
        }

        var error = Assert.Throws<InvalidOperationException>(() => Build(settings));

        Assert.Contains("Glance:ImageData:AzureConnectionString is required", error.Message);
    }

    [Fact]
    public void Store_azure_with_a_malformed_connection_string_fails_at_start_up()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build(new()
        {
            ["Glance:ImageData:Store"] = "azure",
            ["Glance:ImageData:AzureConnectionString"] = "not a connection string",
        }));

        Assert.Contains("Glance:ImageData:AzureConnectionString", error.Message);
        Assert.DoesNotContain("not a connection string", error.Message);
    }

    [Theory]
    [InlineData("Images")]
    [InlineData("im")]
    [InlineData("-images")]
    [InlineData("my--images")]
    [InlineData("my_images")]
    public void Store_azure_with_an_invalid_container_name_fails_at_start_up(string container)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build(new()
        {
            ["Glance:ImageData:Store"] = "azure",
            ["Glance:ImageData:AzureConnectionString"] = "UseDevelopmentStorage=true",
            ["Glance:ImageData:AzureContainer"] = container,
        }));

        Assert.Contains($"Glance:ImageData:AzureContainer '{container}' is not a valid container name", error.Message);
    }

    [Fact]
    public void An_unknown_store_fails_at_start_up()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build(new() { ["Glance:ImageData:Store"] = "s3" }));

        Assert.Contains("Unknown image data store 's3'", error.Message);
    }

    internal static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var silo = new SiloBuilderStub(new ServiceCollection(), configuration);
        silo.AddGlanceImageData(configuration);
        return silo.Services.BuildServiceProvider();
    }

    private sealed record SiloBuilderStub(IServiceCollection Services, IConfiguration Configuration) : ISiloBuilder;

    [Fact]
    public void Cluster_tls_is_needed_beyond_loopback_unless_turned_off_and_can_be_required_everywhere()
    {
        var section = ClusterTlsOptions.Section;
        IConfiguration Settings(params (string Key, string Value)[] pairs) =>
            new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => KeyValuePair.Create<string, string?>(p.Key, p.Value))).Build();

        // Unset: plain on loopback only; a silo beyond loopback needs TLS or an explicit Required=false.
        var unset = ClusterTlsOptions.From(Settings());
        Assert.False(unset.Enabled);
        Assert.Null(unset.ProblemFor(System.Net.IPAddress.Loopback));
        var beyond = unset.ProblemFor(System.Net.IPAddress.Parse("10.0.0.11"));
        Assert.NotNull(beyond);
        Assert.Contains($"{section}:Required=false", beyond);
        Assert.Null(ClusterTlsOptions.From(Settings(($"{section}:Required", "false"))).ProblemFor(System.Net.IPAddress.Parse("10.0.0.11")));
        // The azure profile's silo builder applies it.
        var silo = new SiloBuilderStub(new ServiceCollection(), Settings(("Glance:Profile", "azure"),
            ("Glance:Azure:ConnectionString", "UseDevelopmentStorage=true"), ("Glance:AdvertisedAddress", "10.0.0.11")));
        var plainSilo = Assert.Throws<InvalidOperationException>(() => silo.AddGlanceAzure(silo.Configuration));
        Assert.Contains("beyond loopback, without TLS", plainSilo.Message);
        var refused = Assert.Throws<InvalidOperationException>(() => ClusterTlsOptions.From(Settings(($"{section}:Required", "true"))));
        Assert.Contains($"{section}:CertificateFile", refused.Message);
        var incomplete = Assert.Throws<InvalidOperationException>(() => ClusterTlsOptions.From(Settings(($"{section}:CertificateFile", "node.pem"))));
        Assert.Contains($"{section}:KeyFile and {section}:CaFile are required", incomplete.Message);
    }
}
