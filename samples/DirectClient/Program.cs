using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;

// Another Orleans service that uses the image service without HTTP: it joins the cluster as a
// client (the gateways are found in the cluster's membership table) and calls the public grain
// interfaces of Grains.Interfaces under a Caller. The grains apply the same rules an HTTP caller
// meets: here, a member of another project gets "not found" for a private image.
//
//   dotnet run --project samples/DirectClient -- --ConnectionString "<Azure Storage>" [--ClusterId glance] [--ServiceId glance] [--ClusteringTable GlanceClusterMembers]
//       [--CertificateFile node.pem --KeyFile node.key --CaFile ca.pem]   (a cluster with mutual TLS)
//       [--CaFile ca.pem]   (TLS without a certificate of its own: a cluster with mutual TLS refuses it)
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var settings = builder.Configuration;
var connectionString = settings["ConnectionString"] ?? throw new ArgumentException("--ConnectionString is required (the cluster's Azure Storage account).");
builder.UseOrleansClient(client =>
{
    client.Configure<ClusterOptions>(cluster =>
    {
        cluster.ClusterId = settings["ClusterId"] ?? "glance";
        cluster.ServiceId = settings["ServiceId"] ?? "glance";
    });
    client.UseAzureStorageClustering(clustering =>
    {
        clustering.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connectionString);
        clustering.TableName = settings["ClusteringTable"] ?? "GlanceClusterMembers";
    });
    // A cluster with mutual TLS admits only clients holding a certificate of its CA.
    if (settings["CaFile"] is { } caFile)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
        void Trust(TlsOptions tls)
        {
            tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            tls.RemoteCertificateValidation = (certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            };
        }
        if (settings["CertificateFile"] is { } certificateFile)
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificateFile, settings["KeyFile"]);
            client.UseTls(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null), Trust);
        }
        else
        {
            client.UseTls(Trust);
        }
    }
});
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();

// The caller travels with every call: inside the cluster it is trusted, so only services that
// hold the cluster's credentials can connect (README, "Operators").
var alice = Caller.Member("direct-client-project-a", "alice");
var bob = Caller.Member("direct-client-project-b", "bob");
var failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok" : "not ok")} - {what}");
    failures += ok ? 0 : 1;
}

var id = Guid.NewGuid();
var image = grains.GetGrain<IImageGrain>(id);
var name = $"direct-client-{id:N}";
var created = await image.CreateAsync(alice,
    ImageDraft.Empty.With("name", name).With("visibility", "private").With("disk_format", "raw").With("container_format", "bare"));
Check(created.Id == id && created.Owner == alice.ProjectId && created.Visibility == ImageVisibility.Private, $"created private image {id} owned by {created.Owner}");

var listed = await grains.GetGrain<IImageCatalogGrain>(0).ListAsync(alice, new ImageQuery
{
    Limit = 10,
    Filters = [new AttributeFilter("name", FilterOp.Eq, ImmutableArray.Create(name))],
});
Check(listed.Any(i => i.Id == id), $"listed {id} for its owner");

Check((await image.GetAsync(alice)).Name == name, $"read {id} as its owner");

try
{
    await image.GetAsync(bob);
    Check(false, "a member of another project reads the private image");
}
catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
{
    Check(true, $"a member of another project gets not found: {e.Message}");
}
var othersList = await grains.GetGrain<IImageCatalogGrain>(0).ListAsync(bob, new ImageQuery
{
    Filters = [new AttributeFilter("name", FilterOp.Eq, ImmutableArray.Create(name))],
});
Check(othersList.IsEmpty, "a member of another project does not list it");
Check(await ThrowsNotFoundAsync(() => image.UpdateAsync(bob, [PatchOperation.Replace("name", "taken")])), "a member of another project cannot rename it (not found)");
Check(await ThrowsNotFoundAsync(() => image.DeleteAsync(bob)), "a member of another project cannot delete it (not found)");

await image.DeleteAsync(alice);
Check(await ThrowsNotFoundAsync(() => image.GetAsync(alice)), $"deleted {id}");

await host.StopAsync();
Console.WriteLine(failures == 0 ? "direct client: all checks passed" : $"direct client: {failures} check(s) failed");
return failures == 0 ? 0 : 1;

static async Task<bool> ThrowsNotFoundAsync(Func<Task> call)
{
    try
    {
        await call();
        return false;
    }
    catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
    {
        return true;
    }
}
